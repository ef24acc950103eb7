// Text from a record made safe for a terminal. Everything the CLI prints
// from a server response (descriptions, ids, messages) passes through here
// first, so a record cannot move the cursor, clear the screen or forge a
// line ("\x1b[2J...Outcome ALLOW"): control characters (C0 including
// newline and tab, DEL, C1) and invalid UTF-8 bytes are printed as \xNN.
// Printable text (any valid UTF-8 without controls) passes unchanged, so
// applying it twice changes nothing more.
#ifndef TRADECHECK_CLIENT_TERMINAL_TEXT_H_
#define TRADECHECK_CLIENT_TERMINAL_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace tradecheck {

std::string TerminalSafe(absl::string_view text);

// A copy of `message` with every string field (at any depth) TerminalSafe.
template <typename M>
M ForTerminal(const M& message);

// In place, for ForTerminal.
void MakeTerminalSafe(google::protobuf::Message* message);

template <typename M>
M ForTerminal(const M& message) {
  M copy = message;
  MakeTerminalSafe(&copy);
  return copy;
}

}  // namespace tradecheck

#endif  // TRADECHECK_CLIENT_TERMINAL_TEXT_H_
