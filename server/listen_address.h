// Whether a --listen address is on loopback, where plaintext is allowed.
#ifndef TRADECHECK_SERVER_LISTEN_ADDRESS_H_
#define TRADECHECK_SERVER_LISTEN_ADDRESS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace tradecheck::server {

// True for "127.x.y.z:port", "[::1]:port", "localhost:port" (also with an
// "ipv4:"/"ipv6:" scheme). False for anything else, including wildcard
// addresses (0.0.0.0, [::]), host names and unix sockets' absence of a
// port: plaintext there could be reached from another machine.
bool IsLoopbackListenAddress(absl::string_view address);

}  // namespace tradecheck::server

#endif  // TRADECHECK_SERVER_LISTEN_ADDRESS_H_
