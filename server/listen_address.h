// Checks on a --listen address: whether it is on loopback, where plaintext
// is allowed, and whether it can be bound at all (checked before anything
// is created on disk).
#ifndef TRADECHECK_SERVER_LISTEN_ADDRESS_H_
#define TRADECHECK_SERVER_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tradecheck::server {

// True for "127.x.y.z:port", "[::1]:port", "localhost:port" (also with an
// "ipv4:"/"ipv6:" scheme). False for anything else, including wildcard
// addresses (0.0.0.0, [::]), host names and unix sockets' absence of a
// port: plaintext there could be reached from another machine.
bool IsLoopbackListenAddress(absl::string_view address);

// OK when `address` is "host:port" / "[v6]:port" (optionally with an
// "ipv4:"/"ipv6:" scheme) with a port in 0..65535 and a host that
// resolves, and a socket can be bound to it right now. Otherwise
// INVALID_ARGUMENT (malformed, unresolvable) or UNAVAILABLE (in use, not
// permitted), naming `flag`. Port 0 is not bound (any free port will do).
// A port taken between this check and gRPC's bind still fails there.
absl::Status CheckListenAddress(absl::string_view address,
                                absl::string_view flag = "--listen");

}  // namespace tradecheck::server

#endif  // TRADECHECK_SERVER_LISTEN_ADDRESS_H_
