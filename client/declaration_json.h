// Declarations in JSON (the protobuf JSON mapping of tradecheck.v1
// .Declaration), as the `tradecheck` command line and the examples use them.
//
// Parsing is strict so that a mistake is caught on the client, before
// anything is sent, with a message naming the source, the position, the
// field and the problem:
//
//   decl.json:4:3: invalid JSON: expected ',' or '}' after a member
//   decl.json:7:9: lines[0].hscode: unknown field
//   decl.json:3:11: kind: invalid value "IMPORT"; expected one of ...
//   decl.json: entry_date: required for DECLARATION_KIND_IMPORT_ENTRY
//
// Field names may be written as in the .proto file (hs_code) or in
// lowerCamelCase (hsCode); enums by name; int64 values (minor_units,
// amount_milli) as numbers or strings.
#ifndef TRADECHECK_CLIENT_DECLARATION_JSON_H_
#define TRADECHECK_CLIENT_DECLARATION_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "tradecheck/v1/declaration.pb.h"

namespace tradecheck {

// Parses one JSON document into `message`. `source` names the input in
// errors ("examples/x.json"); `first_line` > 0 says the document starts on
// that line of `source` (a line of a JSON Lines file), so positions are
// reported as source:LINE:COLUMN of the file. INVALID_ARGUMENT on bad JSON
// (syntax errors, duplicate keys, unknown fields, wrong types).
absl::Status ParseJsonMessage(absl::string_view json, absl::string_view source,
                              google::protobuf::Message* message,
                              int first_line = 0);

// ParseJsonMessage, then CheckRequiredFields.
absl::StatusOr<v1::Declaration> ParseDeclarationJson(absl::string_view json,
                                                     absl::string_view source,
                                                     int first_line = 0);

// The presence checks of declaration.proto's field rules that need no rule
// data: declaration_id, kind, the governing date for the kind (and that it
// is a real date), at least one line, each line's line_number and hs_code.
// Format checks (HS codes, countries, currencies) are the server's, which
// names each field in a google.rpc.BadRequest. INVALID_ARGUMENT listing
// every problem, one "source: field: problem" per line.
absl::Status CheckRequiredFields(const v1::Declaration& declaration,
                                 absl::string_view source, int line = 0);

// The protobuf JSON mapping with the .proto field names (as the server's
// error field paths use them) and every field printed, defaults included,
// so scripts always find the key. `pretty`: indented, else one line.
std::string MessageToJson(const google::protobuf::Message& message,
                          bool pretty);

}  // namespace tradecheck

#endif  // TRADECHECK_CLIENT_DECLARATION_JSON_H_
