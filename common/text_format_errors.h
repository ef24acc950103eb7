// Collects the first error of a protobuf text-format parse as
// "file:line: message (column N)", with 1-based line and column, so every
// data file the project reads (agreement data, the access policy) reports a
// syntax error the same way.
//
//   TextFormatErrors errors("ruleset.textproto");
//   parser.RecordErrorsTo(&errors);
//   if (!parser.ParseFromString(text, &message)) { ... errors.first() ... }
#ifndef TRADECHECK_COMMON_TEXT_FORMAT_ERRORS_H_
#define TRADECHECK_COMMON_TEXT_FORMAT_ERRORS_H_

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"

namespace tradecheck {

class TextFormatErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit TextFormatErrors(std::string file) : file_(std::move(file)) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (first_.empty()) {
      first_ = absl::StrCat(file_, ":", line + 1, ": ", message, " (column ",
                            column + 1, ")");
    }
  }

  // The first error, or "" when there was none.
  const std::string& first() const { return first_; }

 private:
  std::string file_;
  std::string first_;
};

}  // namespace tradecheck

#endif  // TRADECHECK_COMMON_TEXT_FORMAT_ERRORS_H_
