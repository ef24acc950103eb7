#include "client/declaration_json.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/dates.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"

namespace tradecheck {
namespace {

// Field paths compare without underscores and case, so "lines[0].hsCode"
// (input) and "lines[0].hs_code" (protobuf's error) meet.
std::string NormalizePath(absl::string_view path) {
  std::string normalized;
  normalized.reserve(path.size());
  for (char c : path) {
    if (c != '_') normalized.push_back(absl::ascii_tolower(c));
  }
  return normalized;
}

struct Position {
  int line = 1;
  int column = 1;
};

// A strict RFC 8259 syntax check that protobuf's lenient parser lacks: it
// reports the line and column of the first error, rejects duplicate keys
// and trailing commas, and records where each key starts so that errors
// protobuf reports by field path can be given a position too.
class JsonScanner {
 public:
  explicit JsonScanner(absl::string_view text) : text_(text) {}

  // The first syntax error, or std::nullopt.
  std::optional<std::pair<Position, std::string>> Scan() {
    SkipSpace();
    if (!Value("", 0)) return std::make_pair(error_position_, error_);
    SkipSpace();
    if (pos_ < text_.size()) {
      Fail("unexpected text after the JSON value");
      return std::make_pair(error_position_, error_);
    }
    return std::nullopt;
  }

  // Where the key at `normalized_path` starts, if it was seen.
  std::optional<Position> PositionOf(const std::string& normalized_path) const {
    auto it = key_positions_.find(normalized_path);
    if (it == key_positions_.end()) return std::nullopt;
    return it->second;
  }

 private:
  static constexpr int kMaxDepth = 64;

  bool Fail(std::string message) {
    if (error_.empty()) {
      error_ = std::move(message);
      error_position_ = Here();
    }
    return false;
  }

  Position Here() const { return position_; }

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }

  void Advance() {
    if (text_[pos_] == '\n') {
      ++position_.line;
      position_.column = 1;
    } else {
      ++position_.column;
    }
    ++pos_;
  }

  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' ||
                        Peek() == '\r')) {
      Advance();
    }
  }

  bool Value(const std::string& path, int depth) {
    if (depth > kMaxDepth) return Fail("nested too deeply");
    if (AtEnd()) return Fail("unexpected end of input; expected a value");
    switch (Peek()) {
      case '{':
        return Object(path, depth);
      case '[':
        return Array(path, depth);
      case '"': {
        std::string ignored;
        return String(&ignored);
      }
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        if (Peek() == '-' || absl::ascii_isdigit(Peek())) return Number();
        return Fail(absl::StrCat("unexpected character '",
                                 std::string(1, Peek()),
                                 "'; expected a value"));
    }
  }

  bool Object(const std::string& path, int depth) {
    Advance();  // '{'
    SkipSpace();
    if (!AtEnd() && Peek() == '}') {
      Advance();
      return true;
    }
    std::set<std::string> keys;
    while (true) {
      SkipSpace();
      if (AtEnd() || Peek() != '"') {
        return Fail("expected a member name in double quotes");
      }
      const Position key_position = Here();
      std::string key;
      if (!String(&key)) return false;
      if (!keys.insert(key).second) {
        error_position_ = key_position;
        error_ = absl::StrCat("duplicate key \"", key, "\"");
        return false;
      }
      const std::string child =
          path.empty() ? key : absl::StrCat(path, ".", key);
      key_positions_.emplace(NormalizePath(child), key_position);
      SkipSpace();
      if (AtEnd() || Peek() != ':') return Fail("expected ':' after a name");
      Advance();
      SkipSpace();
      if (!Value(child, depth + 1)) return false;
      SkipSpace();
      if (AtEnd()) return Fail("unexpected end of input; expected ',' or '}'");
      if (Peek() == '}') {
        Advance();
        return true;
      }
      if (Peek() != ',') return Fail("expected ',' or '}' after a member");
      Advance();
      SkipSpace();
      if (!AtEnd() && Peek() == '}') return Fail("trailing ',' before '}'");
    }
  }

  bool Array(const std::string& path, int depth) {
    Advance();  // '['
    SkipSpace();
    if (!AtEnd() && Peek() == ']') {
      Advance();
      return true;
    }
    for (int index = 0;; ++index) {
      SkipSpace();
      const std::string child = absl::StrCat(path, "[", index, "]");
      key_positions_.emplace(NormalizePath(child), Here());
      if (!Value(child, depth + 1)) return false;
      SkipSpace();
      if (AtEnd()) return Fail("unexpected end of input; expected ',' or ']'");
      if (Peek() == ']') {
        Advance();
        return true;
      }
      if (Peek() != ',') return Fail("expected ',' or ']' after an element");
      Advance();
      SkipSpace();
      if (!AtEnd() && Peek() == ']') return Fail("trailing ',' before ']'");
    }
  }

  bool String(std::string* out) {
    Advance();  // '"'
    while (true) {
      if (AtEnd()) return Fail("unterminated string");
      const char c = Peek();
      if (c == '"') {
        Advance();
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return Fail("control character in a string (escape it)");
      }
      if (c == '\\') {
        Advance();
        if (AtEnd()) return Fail("unterminated string");
        const char e = Peek();
        if (e == 'u') {
          Advance();
          for (int i = 0; i < 4; ++i) {
            if (AtEnd() || !absl::ascii_isxdigit(Peek())) {
              return Fail("\\u must be followed by 4 hex digits");
            }
            Advance();
          }
          out->push_back('?');
          continue;
        }
        if (std::string("\"\\/bfnrt").find(e) == std::string::npos) {
          return Fail(
              absl::StrCat("invalid escape '\\", std::string(1, e), "'"));
        }
        out->push_back(e);
        Advance();
        continue;
      }
      out->push_back(c);
      Advance();
    }
  }

  bool Number() {
    if (Peek() == '-') Advance();
    if (AtEnd() || !absl::ascii_isdigit(Peek())) return Fail("invalid number");
    if (Peek() == '0') {
      Advance();
    } else {
      while (!AtEnd() && absl::ascii_isdigit(Peek())) Advance();
    }
    if (!AtEnd() && Peek() == '.') {
      Advance();
      if (AtEnd() || !absl::ascii_isdigit(Peek())) {
        return Fail("invalid number: digits expected after '.'");
      }
      while (!AtEnd() && absl::ascii_isdigit(Peek())) Advance();
    }
    if (!AtEnd() && (Peek() == 'e' || Peek() == 'E')) {
      Advance();
      if (!AtEnd() && (Peek() == '+' || Peek() == '-')) Advance();
      if (AtEnd() || !absl::ascii_isdigit(Peek())) {
        return Fail("invalid number: digits expected in the exponent");
      }
      while (!AtEnd() && absl::ascii_isdigit(Peek())) Advance();
    }
    if (!AtEnd() && (absl::ascii_isalpha(Peek()) || Peek() == '_')) {
      return Fail("invalid number");
    }
    return true;
  }

  bool Literal(absl::string_view word) {
    if (!absl::StartsWith(text_.substr(pos_), word)) {
      return Fail("invalid literal; expected a value (strings need quotes)");
    }
    for (size_t i = 0; i < word.size(); ++i) Advance();
    return true;
  }

  absl::string_view text_;
  size_t pos_ = 0;
  Position position_;
  std::string error_;
  Position error_position_;
  std::map<std::string, Position> key_positions_;
};

// "type.googleapis.com/tradecheck.v1.DeclarationKind" -> "; expected one of
// DECLARATION_KIND_IMPORT_ENTRY, ..." for enums of the generated pool.
std::string ExpectedEnumValues(absl::string_view problem) {
  constexpr absl::string_view kPrefix = "for type type.googleapis.com/";
  const size_t at = problem.find(kPrefix);
  if (at == absl::string_view::npos) return "";
  const std::string type_name(problem.substr(at + kPrefix.size()));
  const google::protobuf::EnumDescriptor* type =
      google::protobuf::DescriptorPool::generated_pool()->FindEnumTypeByName(
          type_name);
  if (type == nullptr) return "";
  std::vector<std::string> names;
  for (int i = 0; i < type->value_count(); ++i) {
    if (type->value(i)->number() != 0) names.push_back(type->value(i)->name());
  }
  return absl::StrCat("; expected one of ", absl::StrJoin(names, ", "));
}

// Protobuf reports "(lines[0]) hscode: Cannot find field." and
// "(kind): invalid value ..."; splits that into field path and problem.
std::pair<std::string, std::string> SplitProtobufError(
    absl::string_view message) {
  constexpr absl::string_view kUnknown = ": Cannot find field.";
  if (!absl::StartsWith(message, "(")) {
    // A top-level field: "foo: Cannot find field."
    if (absl::EndsWith(message, kUnknown)) {
      const absl::string_view name =
          message.substr(0, message.size() - kUnknown.size());
      if (name.find(' ') == absl::string_view::npos) {
        return {std::string(name), "unknown field"};
      }
    }
    return {"", std::string(message)};
  }
  const size_t close = message.find(')');
  if (close == absl::string_view::npos) return {"", std::string(message)};
  const absl::string_view path = message.substr(1, close - 1);
  absl::string_view rest = message.substr(close + 1);
  if (absl::ConsumePrefix(&rest, ": ")) {
    const std::string expected = ExpectedEnumValues(rest);
    if (!expected.empty()) {
      // Drop protobuf's "for type type.googleapis.com/..." in favour of the
      // list of names that would have worked.
      rest = rest.substr(0, rest.find(" for type type.googleapis.com/"));
    }
    return {std::string(path), absl::StrCat(rest, expected)};
  }
  absl::ConsumePrefix(&rest, " ");
  const size_t colon = rest.find(kUnknown);
  if (colon != absl::string_view::npos) {
    const absl::string_view name = rest.substr(0, colon);
    return {path.empty() ? std::string(name) : absl::StrCat(path, ".", name),
            "unknown field"};
  }
  return {std::string(path), std::string(rest)};
}

// "source:line:column"; `first_line` > 0 when the JSON starts on that line
// of `source` (JSON Lines).
std::string Where(absl::string_view source, int first_line,
                  std::optional<Position> position) {
  if (!position.has_value()) {
    return first_line > 0 ? absl::StrCat(source, ":", first_line)
                          : std::string(source);
  }
  const int line =
      first_line > 0 ? first_line + position->line - 1 : position->line;
  return absl::StrCat(source, ":", line, ":", position->column);
}

}  // namespace

absl::Status ParseJsonMessage(absl::string_view json, absl::string_view source,
                              google::protobuf::Message* message,
                              int first_line) {
  JsonScanner scanner(json);
  if (auto error = scanner.Scan()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(source, first_line, error->first),
                     ": invalid JSON: ", error->second));
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  options.case_insensitive_enum_parsing = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      std::string(json), message, options);
  if (status.ok()) return absl::OkStatus();

  auto [field, problem] = SplitProtobufError(
      absl::string_view(status.message().data(), status.message().size()));
  if (field.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(source, first_line, std::nullopt), ": not a valid ",
                     message->GetDescriptor()->full_name(), ": ", problem));
  }
  const std::string where =
      Where(source, first_line, scanner.PositionOf(NormalizePath(field)));
  if (problem == "unknown field") {
    problem =
        absl::StrCat("unknown field (not in the protobuf JSON mapping of ",
                     message->GetDescriptor()->full_name(), ")");
  }
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": ", field, ": ", problem));
}

absl::Status CheckRequiredFields(const v1::Declaration& declaration,
                                 absl::string_view source, int line) {
  std::vector<std::string> problems;
  const std::string where = Where(source, line, std::nullopt);
  auto problem = [&](absl::string_view field, absl::string_view what) {
    problems.push_back(absl::StrCat(where, ": ", field, ": ", what));
  };
  auto check_date = [&](absl::string_view field, const v1::Date& date) {
    absl::StatusOr<absl::CivilDay> day = ToCivilDay(date);
    if (!day.ok()) problem(field, day.status().message());
  };

  if (declaration.declaration_id().empty()) {
    problem("declaration_id", "required field is missing");
  }
  switch (declaration.kind()) {
    case v1::DECLARATION_KIND_IMPORT_ENTRY:
      if (!declaration.has_entry_date()) {
        problem("entry_date",
                "required for DECLARATION_KIND_IMPORT_ENTRY (the date of "
                "entry governs an import)");
      }
      break;
    case v1::DECLARATION_KIND_EXPORT_SHIPMENT:
      if (!declaration.has_export_date()) {
        problem("export_date",
                "required for DECLARATION_KIND_EXPORT_SHIPMENT (the date of "
                "loading governs an export)");
      }
      break;
    default:
      problem("kind",
              "required field is missing; expected "
              "DECLARATION_KIND_IMPORT_ENTRY or "
              "DECLARATION_KIND_EXPORT_SHIPMENT");
  }
  if (declaration.has_entry_date()) {
    check_date("entry_date", declaration.entry_date());
  }
  if (declaration.has_export_date()) {
    check_date("export_date", declaration.export_date());
  }
  if (declaration.lines().empty()) {
    problem("lines", "at least one line is required");
  }
  for (int i = 0; i < declaration.lines_size(); ++i) {
    const v1::LineItem& line = declaration.lines(i);
    const std::string prefix = absl::StrCat("lines[", i, "]");
    if (line.line_number() < 1) {
      problem(absl::StrCat(prefix, ".line_number"),
              "required field is missing (a number >= 1, unique in the "
              "declaration)");
    }
    if (line.hs_code().empty()) {
      problem(absl::StrCat(prefix, ".hs_code"), "required field is missing");
    }
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
}

absl::StatusOr<v1::Declaration> ParseDeclarationJson(absl::string_view json,
                                                     absl::string_view source,
                                                     int first_line) {
  v1::Declaration declaration;
  absl::Status status =
      ParseJsonMessage(json, source, &declaration, first_line);
  if (!status.ok()) return status;
  status = CheckRequiredFields(declaration, source, first_line);
  if (!status.ok()) return status;
  return declaration;
}

std::string MessageToJson(const google::protobuf::Message& message,
                          bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  // Printing a valid message cannot fail; if it ever did, the output says so
  // rather than being silently empty.
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::StrCat("{\"error\": \"cannot print ",
                        message.GetDescriptor()->full_name(), "\"}");
  }
  if (pretty && !json.empty() && json.back() == '\n') json.pop_back();
  return json;
}

}  // namespace tradecheck
