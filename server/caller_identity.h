// Turns the peer of a call into the Caller the core authorizes: the
// identity its verified client certificate proves, resolved against the
// access policy. Nothing a caller writes in a request is ever read here.
// With plaintext (allowed only on loopback, see server_main.cc) every
// caller is Caller::Local().
#ifndef TRADECHECK_SERVER_CALLER_IDENTITY_H_
#define TRADECHECK_SERVER_CALLER_IDENTITY_H_

#include <string>

#include "core/access.h"
#include "core/tradecheck_core.h"

namespace grpc {
class ServerContextBase;
class AuthContext;
}  // namespace grpc

namespace tradecheck::server {

// The identity a verified client certificate proves: its SPIFFE ID (a
// single spiffe:// URI SAN), else the first spiffe:// URI SAN, else its
// subject common name. Empty when the peer presented no certificate.
std::string CertificateIdentity(const grpc::AuthContext& auth);

class CallerResolver {
 public:
  // `core` is not owned and must outlive the resolver.
  CallerResolver(const TradecheckCore* core, bool tls)
      : core_(core), tls_(tls) {}

  Caller Of(const grpc::ServerContextBase* context) const;

 private:
  const TradecheckCore* const core_;
  const bool tls_;
};

}  // namespace tradecheck::server

#endif  // TRADECHECK_SERVER_CALLER_IDENTITY_H_
