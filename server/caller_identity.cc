#include "server/caller_identity.h"

#include "absl/strings/match.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/auth_context.h"

namespace tradecheck::server {
namespace {

std::string First(const grpc::AuthContext& auth, const char* property) {
  for (const grpc::string_ref& value : auth.FindPropertyValues(property)) {
    return std::string(value.data(), value.size());
  }
  return "";
}

}  // namespace

std::string CertificateIdentity(const grpc::AuthContext& auth) {
  // gRPC fills these only from a certificate the handshake verified
  // against the client CA.
  if (std::string spiffe = First(auth, GRPC_PEER_SPIFFE_ID_PROPERTY_NAME);
      !spiffe.empty()) {
    return spiffe;
  }
  for (const grpc::string_ref& value :
       auth.FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME)) {
    std::string uri(value.data(), value.size());
    if (absl::StartsWith(uri, "spiffe://")) return uri;
  }
  return First(auth, GRPC_X509_CN_PROPERTY_NAME);
}

Caller CallerResolver::Of(const grpc::ServerContextBase* context) const {
  if (!tls_) return Caller::Local();
  std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return Caller();
  return core_->ResolveCaller(CertificateIdentity(*auth));
}

}  // namespace tradecheck::server
