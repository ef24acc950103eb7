// libFuzzer target: the CLI's declaration JSON reader (client/
// declaration_json.h) on arbitrary bytes, then the JSON writer on whatever
// it accepted.
#include <cstddef>
#include <cstdint>
#include <string>

#include "client/declaration_json.h"
#include "client/terminal_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto declaration = tradecheck::ParseDeclarationJson(text, "fuzz.json", 1);
  if (declaration.ok()) {
    const std::string json = tradecheck::MessageToJson(*declaration, false);
    auto again = tradecheck::ParseDeclarationJson(json, "fuzz-again.json");
    if (!again.ok()) __builtin_trap();  // what we print must read back
    tradecheck::ForTerminal(*declaration);
  }
  tradecheck::TerminalSafe(text);
  return 0;
}
