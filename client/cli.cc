#include "client/cli.h"

#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/audit_report.h"
#include "client/declaration_json.h"
#include "client/errors.h"
#include "client/log_verifier.h"
#include "storage/trail_reader.h"
#include "client/verdict_format.h"
#include "common/dates.h"
#include "common/files.h"
#include "common/money.h"

namespace tradecheck::cli {
namespace {

constexpr int kMaxReportedInputErrors = 20;

// --- Input files -------------------------------------------------------------

struct FileCloser {
  void operator()(std::FILE* file) const {
    if (file != nullptr) std::fclose(file);
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

std::string DisplayName(const std::string& path) {
  return path == "-" ? "<stdin>" : path;
}

// Opens `path` for reading; "-" copies stdin to an anonymous temporary file
// so that it can be read twice (validated, then sent) in bounded memory.
absl::StatusOr<File> OpenInput(const std::string& path, std::istream& in) {
  if (path == "-") {
    File spool(std::tmpfile());
    if (spool == nullptr) {
      return absl::InternalError(absl::StrCat(
          "<stdin>: cannot create a temporary file: ", std::strerror(errno)));
    }
    char buffer[1 << 16];
    while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
      const size_t n = static_cast<size_t>(in.gcount());
      if (std::fwrite(buffer, 1, n, spool.get()) != n) {
        return absl::InternalError(
            absl::StrCat("<stdin>: cannot spool to a temporary file: ",
                         std::strerror(errno)));
      }
    }
    if (in.bad()) return absl::DataLossError("<stdin>: read error");
    std::rewind(spool.get());
    return spool;
  }
  File file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  return file;
}

absl::StatusOr<std::string> ReadAll(const std::string& path, std::FILE* file) {
  std::string contents;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    contents.append(buffer, n);
  }
  if (std::ferror(file)) {
    return absl::DataLossError(absl::StrCat(
        DisplayName(path), ": cannot read: ", std::strerror(errno)));
  }
  return contents;
}

// Reads one line (without its newline) into `line`; false at end of file
// or on a read error (check ferror).
bool ReadLine(std::FILE* file, std::string* line) {
  char* buffer = nullptr;
  size_t capacity = 0;
  const ssize_t length = getline(&buffer, &capacity, file);
  const std::unique_ptr<char, decltype(&std::free)> owned(buffer, &std::free);
  if (length < 0) return false;
  line->assign(buffer, static_cast<size_t>(length));
  if (!line->empty() && line->back() == '\n') line->pop_back();
  return true;
}

bool IsBlank(const std::string& line) {
  return absl::StripAsciiWhitespace(line).empty();
}

// --- Errors and exit codes ---------------------------------------------------

int ExitForRpcError(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kAlreadyExists:
      return kExitInput;
    default:
      return kExitServer;
  }
}

int ReportRpcError(const absl::Status& status, absl::string_view what,
                   CliIo& io) {
  io.err << "tradecheck: " << what << ": " << DescribeError(status) << "\n";
  if (status.code() == absl::StatusCode::kUnavailable) {
    io.err << "  (is the server running? --server is "
           << "the address to reach; see tradecheck --help)\n";
  }
  return ExitForRpcError(status);
}

int ExitForOutcome(v1::Outcome outcome) {
  switch (outcome) {
    case v1::OUTCOME_ALLOW:
      return kExitAllow;
    case v1::OUTCOME_DENY:
      return kExitDeny;
    case v1::OUTCOME_NEEDS_REVIEW:
      return kExitNeedsReview;
    default:
      return kExitServer;
  }
}

int Usage(CliIo& io, absl::string_view message) {
  io.err << "tradecheck: " << message
         << "\nRun 'tradecheck --help' for usage.\n";
  return kExitUsage;
}

// Creates the client, reporting a failure; nullptr then, with *exit_code set.
std::unique_ptr<TradecheckClient> MakeClient(const CliOptions& options,
                                             CliIo& io,
                                             const ClientFactory& make_client,
                                             int* exit_code) {
  absl::StatusOr<std::unique_ptr<TradecheckClient>> client =
      make_client(options.client);
  if (!client.ok()) {
    io.err << "tradecheck: " << client.status().message() << "\n";
    *exit_code = client.status().code() == absl::StatusCode::kInvalidArgument
                     ? kExitUsage
                     : kExitInput;
    return nullptr;
  }
  return *std::move(client);
}

// --- check -------------------------------------------------------------------

int CheckOne(const std::string& path, const CliOptions& options, CliIo& io,
             const ClientFactory& make_client) {
  absl::StatusOr<File> file = OpenInput(path, io.in);
  if (!file.ok()) {
    io.err << "tradecheck: " << file.status().message() << "\n";
    return kExitInput;
  }
  absl::StatusOr<std::string> text = ReadAll(path, file->get());
  if (!text.ok()) {
    io.err << "tradecheck: " << text.status().message() << "\n";
    return kExitInput;
  }
  absl::StatusOr<v1::Declaration> declaration =
      ParseDeclarationJson(*text, DisplayName(path));
  if (!declaration.ok()) {
    io.err << declaration.status().message() << "\n";
    return kExitInput;
  }

  int exit_code = kExitServer;
  std::unique_ptr<TradecheckClient> client =
      MakeClient(options, io, make_client, &exit_code);
  if (client == nullptr) return exit_code;
  absl::StatusOr<v1::CheckDeclarationResponse> response =
      options.validate_only ? client->DryRun(*declaration)
                            : client->Check(*declaration);
  if (!response.ok()) {
    return ReportRpcError(
        response.status(),
        absl::StrCat(DisplayName(path), ": ",
                     options.validate_only ? "dry run" : "check", " failed"),
        io);
  }
  if (options.json) {
    io.out << MessageToJson(*response, /*pretty=*/true) << "\n";
  } else {
    io.out << FormatCheckResponse(*response, &*declaration);
  }
  if (response->verdict().outcome() == v1::OUTCOME_UNSPECIFIED) {
    io.err << "tradecheck: the server returned a verdict without an outcome\n";
  }
  return ExitForOutcome(response->verdict().outcome());
}

// Counts and prints results as they stream in. Called from one thread.
class BatchReporter {
 public:
  BatchReporter(const CliOptions& options, CliIo& io, uint64_t expected)
      : options_(options), io_(io), expected_(expected) {}

  absl::Status OnResult(const v1::CheckResult& result) {
    ++received_;
    if (result.has_error()) {
      ++errors_;
    } else {
      const v1::Verdict& verdict = result.response().verdict();
      switch (verdict.outcome()) {
        case v1::OUTCOME_ALLOW:
          ++allow_;
          break;
        case v1::OUTCOME_DENY:
          ++deny_;
          break;
        case v1::OUTCOME_NEEDS_REVIEW:
          ++review_;
          break;
        default:
          ++unspecified_;
      }
      if (!verdict.total_duty().currency_code().empty()) {
        duty_[verdict.total_duty().currency_code()] +=
            verdict.total_duty().minor_units();
      }
    }
    ClearProgress();
    if (options_.json) {
      io_.out << MessageToJson(result, /*pretty=*/false) << "\n";
    } else {
      if (received_ == 1) io_.out << FormatBatchHeader();
      io_.out << FormatBatchRow(result);
      if (result.has_error()) {
        const absl::Status status = StatusFromRpcStatus(result.error());
        if (std::optional<google::rpc::BadRequest> bad = BadRequestOf(status)) {
          for (const auto& violation : bad->field_violations()) {
            io_.out << "       " << violation.field() << ": "
                    << violation.description() << "\n";
          }
        }
      }
    }
    if (!io_.out) return absl::UnavailableError("cannot write the output");
    ShowProgress(/*force=*/false);
    return absl::OkStatus();
  }

  void ShowProgress(bool force) {
    if (!options_.progress) return;
    const absl::Time now = absl::Now();
    if (!force && now - last_progress_ < absl::Milliseconds(100)) return;
    last_progress_ = now;
    // Lines go to stdout while progress lives on the last line of stderr;
    // flush stdout first so the two interleave cleanly on one terminal.
    io_.out.flush();
    io_.err << absl::StrFormat(
        "\rchecked %d/%d: %d allow, %d deny, %d review, %d rejected", received_,
        expected_, allow_, deny_, review_, errors_);
    io_.err.flush();
    progress_shown_ = true;
  }

  void ClearProgress() {
    if (!progress_shown_) return;
    io_.err << "\r\033[K";
    io_.err.flush();
    progress_shown_ = false;
  }

  std::string Summary() const {
    std::string text = absl::StrFormat(
        "%d declarations: %d ALLOW, %d DENY, %d NEEDS_REVIEW, %d rejected",
        received_, allow_, deny_, review_, errors_);
    if (unspecified_ > 0) {
      absl::StrAppend(&text, ", ", unspecified_, " without an outcome");
    }
    if (!duty_.empty()) {
      absl::StrAppend(&text, "; total duty");
      bool first = true;
      for (const auto& [currency, minor] : duty_) {
        absl::StrAppend(&text, first ? " " : " + ",
                        FormatMoney(MakeMoney(currency, minor)));
        first = false;
      }
    }
    return text;
  }

  int ExitCode() const {
    if (errors_ > 0 || unspecified_ > 0) {
      return unspecified_ > 0 ? kExitServer : kExitInput;
    }
    if (deny_ > 0) return kExitDeny;
    if (review_ > 0) return kExitNeedsReview;
    return kExitAllow;
  }

  uint64_t received() const { return received_; }

 private:
  const CliOptions& options_;
  CliIo& io_;
  const uint64_t expected_;
  uint64_t received_ = 0;
  uint64_t allow_ = 0;
  uint64_t deny_ = 0;
  uint64_t review_ = 0;
  uint64_t errors_ = 0;
  uint64_t unspecified_ = 0;
  std::map<std::string, int64_t> duty_;
  absl::Time last_progress_ = absl::InfinitePast();
  bool progress_shown_ = false;
};

int CheckBatchFile(const std::string& path, const CliOptions& options,
                   CliIo& io, const ClientFactory& make_client) {
  const std::string name = DisplayName(path);
  absl::StatusOr<File> file = OpenInput(path, io.in);
  if (!file.ok()) {
    io.err << "tradecheck: " << file.status().message() << "\n";
    return kExitInput;
  }

  // Pass 1: every line must parse before the first one is sent. Nothing is
  // kept but a count.
  uint64_t declarations = 0;
  int input_errors = 0;
  std::string line;
  for (int line_number = 1; ReadLine(file->get(), &line); ++line_number) {
    if (IsBlank(line)) continue;
    ++declarations;
    absl::StatusOr<v1::Declaration> declaration =
        ParseDeclarationJson(line, name, line_number);
    if (!declaration.ok()) {
      if (++input_errors <= kMaxReportedInputErrors) {
        io.err << declaration.status().message() << "\n";
      }
    }
  }
  if (std::ferror(file->get())) {
    io.err << "tradecheck: " << name
           << ": cannot read: " << std::strerror(errno) << "\n";
    return kExitInput;
  }
  if (input_errors > 0) {
    if (input_errors > kMaxReportedInputErrors) {
      io.err << "... and " << input_errors - kMaxReportedInputErrors
             << " more\n";
    }
    io.err << "tradecheck: " << name << ": " << input_errors << " of "
           << declarations << " declarations are invalid; nothing was sent\n";
    return kExitInput;
  }
  if (declarations == 0) {
    io.err << "tradecheck: " << name << ": no declarations (one JSON object "
           << "per line expected)\n";
    return kExitInput;
  }

  int exit_code = kExitServer;
  std::unique_ptr<TradecheckClient> client =
      MakeClient(options, io, make_client, &exit_code);
  if (client == nullptr) return exit_code;

  // Pass 2: stream them.
  std::rewind(file->get());
  int line_number = 0;
  auto next =
      [&]() -> absl::StatusOr<std::optional<v1::CheckDeclarationRequest>> {
    std::string text;
    while (ReadLine(file->get(), &text)) {
      ++line_number;
      if (IsBlank(text)) continue;
      v1::CheckDeclarationRequest request;
      absl::StatusOr<v1::Declaration> declaration =
          ParseDeclarationJson(text, name, line_number);
      // The file changed between the passes.
      if (!declaration.ok()) return declaration.status();
      *request.mutable_declaration() = *std::move(declaration);
      request.set_validate_only(options.validate_only);
      return request;
    }
    if (std::ferror(file->get())) {
      return absl::DataLossError(
          absl::StrCat(name, ": cannot read: ", std::strerror(errno)));
    }
    return std::nullopt;
  };
  BatchReporter reporter(options, io, declarations);
  reporter.ShowProgress(/*force=*/true);
  const absl::Status status = client->CheckStream(
      next,
      [&](const v1::CheckResult& result) { return reporter.OnResult(result); });
  reporter.ClearProgress();

  const std::string summary = reporter.Summary();
  if (options.json) {
    io.err << summary << "\n";
  } else {
    io.out << "\n" << summary << "\n";
  }
  if (!status.ok()) {
    ReportRpcError(status, absl::StrCat(name, ": batch stream failed"), io);
    io.err << "  " << reporter.received() << " of " << declarations
           << " results received; checks are idempotent, so the file can be "
              "sent again\n";
    return status.code() == absl::StatusCode::kInvalidArgument ||
                   status.code() == absl::StatusCode::kDataLoss
               ? kExitInput
               : kExitServer;
  }
  return reporter.ExitCode();
}

// --- audit -------------------------------------------------------------------

absl::StatusOr<google::protobuf::Timestamp> ParseTimeFlag(
    absl::string_view flag, const std::string& value) {
  absl::Time time;
  std::string error;
  if (absl::StatusOr<v1::Date> date = ParseDate(value); date.ok()) {
    absl::StatusOr<absl::CivilDay> day = ToCivilDay(*date);
    if (!day.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, "=", value, ": ", day.status().message()));
    }
    time = absl::FromCivil(*day, absl::UTCTimeZone());
  } else if (!absl::ParseTime(absl::RFC3339_full, value, &time, &error)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, "=", value,
        ": expected YYYY-MM-DD (midnight UTC) or an RFC 3339 time such as "
        "2026-03-01T08:00:00Z"));
  }
  google::protobuf::Timestamp timestamp;
  timestamp.set_seconds(absl::ToUnixSeconds(time));
  timestamp.set_nanos(
      static_cast<int32_t>((time - absl::FromUnixSeconds(timestamp.seconds())) /
                           absl::Nanoseconds(1)));
  return timestamp;
}

absl::StatusOr<v1::TrailStream> ParseStreamFlag(const std::string& value) {
  std::string v = absl::AsciiStrToLower(value);
  if (v.empty() || v == "binding") return v1::TRAIL_STREAM_BINDING;
  if (v == "validate_only" || v == "validate-only" || v == "dry_run" ||
      v == "dry-run") {
    return v1::TRAIL_STREAM_VALIDATE_ONLY;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--stream=", value, ": expected binding or validate_only"));
}

// "2500.00" (USD), "EUR 2500.00" or "EUR2500": exact, at most the
// currency's minor digits.
absl::StatusOr<v1::Money> ParseMoneyFlag(absl::string_view flag,
                                         const std::string& value) {
  std::string text(absl::StripAsciiWhitespace(value));
  std::string currency = "USD";
  if (text.size() >= 3 && absl::ascii_isalpha(text[0])) {
    currency = absl::AsciiStrToUpper(text.substr(0, 3));
    text = std::string(absl::StripAsciiWhitespace(text.substr(3)));
  }
  text.erase(std::remove(text.begin(), text.end(), ','), text.end());
  const int digits = MinorDigits(currency);
  const size_t dot = text.find('.');
  std::string whole = text.substr(0, dot);
  std::string fraction = dot == std::string::npos ? "" : text.substr(dot + 1);
  int64_t units = 0;
  int64_t minor = 0;
  const bool ok =
      !whole.empty() && static_cast<int>(fraction.size()) <= digits &&
      std::all_of(whole.begin(), whole.end(), absl::ascii_isdigit) &&
      std::all_of(fraction.begin(), fraction.end(), absl::ascii_isdigit) &&
      whole.size() <= 15 && absl::SimpleAtoi(whole, &units) &&
      (fraction.empty() ||
       absl::SimpleAtoi(fraction + std::string(digits - fraction.size(), '0'),
                        &minor));
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, "=", value,
        ": expected an amount such as 2500.00 (USD) or EUR 2500.00"));
  }
  int64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  v1::Money money;
  money.set_currency_code(currency);
  money.set_minor_units(units * scale + minor);
  return money;
}

absl::StatusOr<v1::Date> ParseDateFlag(absl::string_view flag,
                                       const std::string& value) {
  absl::StatusOr<v1::Date> date = ParseDate(value);
  if (!date.ok() || !ToCivilDay(*date).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", value, ": expected a date YYYY-MM-DD"));
  }
  return *date;
}

absl::StatusOr<v1::DecisionFilter> BuildFilter(const CliOptions& options) {
  v1::DecisionFilter filter;
  filter.set_exporter_id(options.exporter);
  filter.set_importer_id(options.importer);
  filter.set_origin_country(options.origin);
  filter.set_hs_code_prefix(options.hs_prefix);
  filter.set_rule_id(options.rule);
  filter.set_rule_set_revision(options.revision);
  if (!options.outcome.empty()) {
    std::string name = absl::AsciiStrToUpper(options.outcome);
    for (char& c : name) {
      if (c == '-') c = '_';
    }
    v1::Outcome outcome;
    if (!v1::Outcome_Parse(name, &outcome) &&
        !v1::Outcome_Parse(absl::StrCat("OUTCOME_", name), &outcome)) {
      outcome = v1::OUTCOME_UNSPECIFIED;
    }
    if (outcome == v1::OUTCOME_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("--outcome=", options.outcome,
                       ": expected allow, deny or needs_review"));
    }
    filter.set_outcome(outcome);
  }
  if (!options.from.empty()) {
    absl::StatusOr<google::protobuf::Timestamp> from =
        ParseTimeFlag("from", options.from);
    if (!from.ok()) return from.status();
    *filter.mutable_recorded_from() = *from;
  }
  if (!options.to.empty()) {
    absl::StatusOr<google::protobuf::Timestamp> to =
        ParseTimeFlag("to", options.to);
    if (!to.ok()) return to.status();
    *filter.mutable_recorded_to() = *to;
  }
  if (!options.stream.empty()) {
    absl::StatusOr<v1::TrailStream> stream = ParseStreamFlag(options.stream);
    if (!stream.ok()) return stream.status();
    filter.set_stream(*stream);
  }
  filter.set_declaration_id(options.declaration);
  filter.set_caller(options.caller);
  filter.set_destination_country(options.destination);
  // Both ends of the governing range or neither (the index walks the days
  // between them).
  if (options.governing_from.empty() != options.governing_to.empty()) {
    return absl::InvalidArgumentError(
        "--governing-from and --governing-to go together");
  }
  if (!options.governing_from.empty()) {
    absl::StatusOr<v1::Date> from =
        ParseDateFlag("governing-from", options.governing_from);
    if (!from.ok()) return from.status();
    absl::StatusOr<v1::Date> to =
        ParseDateFlag("governing-to", options.governing_to);
    if (!to.ok()) return to.status();
    *filter.mutable_governing_from() = *from;
    *filter.mutable_governing_to() = *to;
  }
  if (!options.duty_min.empty()) {
    absl::StatusOr<v1::Money> min = ParseMoneyFlag("duty-min", options.duty_min);
    if (!min.ok()) return min.status();
    *filter.mutable_duty_min() = *min;
  }
  if (!options.duty_max.empty()) {
    absl::StatusOr<v1::Money> max = ParseMoneyFlag("duty-max", options.duty_max);
    if (!max.ok()) return max.status();
    *filter.mutable_duty_max() = *max;
  }
  if (!options.role.empty()) {
    v1::CallerRole role;
    std::string name =
        absl::StrCat("CALLER_ROLE_", absl::AsciiStrToUpper(options.role));
    if (!v1::CallerRole_Parse(name, &role) ||
        role == v1::CALLER_ROLE_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("--role=", options.role,
                       ": expected customs, exporter, auditor, admin or local"));
    }
    filter.set_caller_role(role);
  }
  return filter;
}

// audit report: SummarizeDecisions over a governing date range, rendered as
// a table, CSV or one self-contained HTML file.
int AuditReport(const CliOptions& options, CliIo& io,
                const ClientFactory& make_client) {
  if (options.from.empty() || options.to.empty()) {
    return Usage(io, "audit report needs --from=YYYY-MM-DD and --to=YYYY-MM-DD "
                     "(governing dates, inclusive)");
  }
  CliOptions as_filter = options;
  as_filter.from.clear();
  as_filter.to.clear();
  as_filter.governing_from = options.from;
  as_filter.governing_to = options.to;
  absl::StatusOr<v1::DecisionFilter> filter = BuildFilter(as_filter);
  if (!filter.ok()) {
    std::string message(filter.status().message());
    // The report's --from/--to are the governing range.
    message = absl::StrReplaceAll(
        message, {{"--governing-from", "--from"}, {"--governing-to", "--to"}});
    return Usage(io, message);
  }
  const std::string format =
      options.format.empty() ? "table" : absl::AsciiStrToLower(options.format);
  if (format != "table" && format != "csv" && format != "html") {
    return Usage(io, absl::StrCat("--format=", options.format,
                                  ": expected table, csv or html"));
  }
  absl::StatusOr<std::vector<v1::SummaryDimension>> group_by =
      ParseGroupBy(options.group_by.empty() ? "outcome" : options.group_by);
  if (!group_by.ok()) return Usage(io, group_by.status().message());

  int exit_code = kExitServer;
  std::unique_ptr<TradecheckClient> client =
      MakeClient(options, io, make_client, &exit_code);
  if (client == nullptr) return exit_code;
  auto summarize = [&](const std::vector<v1::SummaryDimension>& by)
      -> absl::StatusOr<v1::SummarizeDecisionsResponse> {
    v1::SummarizeDecisionsRequest request;
    *request.mutable_filter() = *filter;
    for (v1::SummaryDimension d : by) request.add_group_by(d);
    return client->SummarizeDecisions(request);
  };
  ReportData data;
  data.from = options.from;
  data.to = options.to;
  data.server = options.client.server;
  data.generated = absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::Now(),
                                    absl::UTCTimeZone());
  absl::StatusOr<v1::SummarizeDecisionsResponse> grouped = summarize(*group_by);
  if (!grouped.ok()) {
    return ReportRpcError(grouped.status(), "audit report failed", io);
  }
  data.grouped = *std::move(grouped);
  if (format == "html") {
    for (const auto& [by, into] :
         {std::make_pair(std::vector<v1::SummaryDimension>{
                             v1::SUMMARY_DIMENSION_MONTH,
                             v1::SUMMARY_DIMENSION_OUTCOME},
                         &data.by_month_outcome),
          std::make_pair(std::vector<v1::SummaryDimension>{
                             v1::SUMMARY_DIMENSION_ORIGIN},
                         &data.by_origin),
          std::make_pair(
              std::vector<v1::SummaryDimension>{v1::SUMMARY_DIMENSION_RULE},
              &data.by_rule)}) {
      absl::StatusOr<v1::SummarizeDecisionsResponse> r = summarize(by);
      if (!r.ok()) return ReportRpcError(r.status(), "audit report failed", io);
      *into = *std::move(r);
    }
  }
  const std::string text = format == "html"  ? RenderReportHtml(data)
                           : format == "csv" ? RenderReportCsv(data)
                                             : RenderReportTable(data);
  if (options.output.empty()) {
    io.out << text;
    return kExitAllow;
  }
  std::ofstream file(options.output, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (!file) {
    io.err << "tradecheck: audit report: cannot write " << options.output
           << "\n";
    return kExitUsage;
  }
  io.out << "wrote " << options.output << " (" << data.grouped.total().decisions()
         << " decisions)\n";
  return kExitAllow;
}

int AuditList(const CliOptions& options, CliIo& io,
              const ClientFactory& make_client) {
  absl::StatusOr<v1::DecisionFilter> filter = BuildFilter(options);
  if (!filter.ok()) return Usage(io, filter.status().message());
  if (options.page_size < 0 || options.page_size > 1000) {
    return Usage(io, "--page-size must be between 1 and 1000 (0: default)");
  }
  if (options.limit < 0) return Usage(io, "--limit must be >= 0");
  int exit_code = kExitServer;
  std::unique_ptr<TradecheckClient> client =
      MakeClient(options, io, make_client, &exit_code);
  if (client == nullptr) return exit_code;

  int64_t count = 0;
  TradecheckClient::ListOptions list_options;
  list_options.page_size = options.page_size;
  list_options.max_decisions = options.limit;
  if (options.order == "asc") {
    list_options.order_by = "recorded_time asc";
  } else if (options.order == "governing-desc") {
    list_options.order_by = "governing_date desc";
  } else if (options.order == "governing-asc") {
    list_options.order_by = "governing_date asc";
  } else if (!options.order.empty() && options.order != "desc") {
    return Usage(io, "--order must be asc or desc (recorded time: oldest or "
                     "newest first, the default), or governing-asc or "
                     "governing-desc (governing date; needs --governing-from "
                     "and --governing-to)");
  }
  const absl::Status status = client->ForEachDecision(
      *filter, list_options, [&](const v1::Decision& decision) {
        if (options.json) {
          io.out << MessageToJson(decision, /*pretty=*/false) << "\n";
        } else {
          if (count == 0) io.out << FormatDecisionListHeader();
          io.out << FormatDecisionRow(decision);
        }
        ++count;
        if (!io.out) return absl::UnavailableError("cannot write the output");
        return absl::OkStatus();
      });
  if (!status.ok()) return ReportRpcError(status, "audit list failed", io);
  if (!options.json) {
    if (count == 0) {
      io.out << "No decisions match.\n";
    } else {
      io.out << "\n"
             << count << (count == 1 ? " decision" : " decisions")
             << (options.limit > 0 && count == options.limit
                     ? " (--limit reached)"
                     : "")
             << "\n";
    }
  }
  return kExitAllow;
}

int AuditVerify(const CliOptions& options, CliIo& io,
                const ClientFactory& make_client) {
  absl::StatusOr<v1::TrailStream> stream = ParseStreamFlag(options.stream);
  if (!stream.ok()) return Usage(io, stream.status().message());
  v1::VerifyTrailRequest request;
  request.set_stream(*stream);
  request.set_from_sequence(options.from_sequence);
  request.set_to_sequence(options.to_sequence);
  int exit_code = kExitServer;
  std::unique_ptr<TradecheckClient> client =
      MakeClient(options, io, make_client, &exit_code);
  if (client == nullptr) return exit_code;
  absl::StatusOr<v1::VerifyTrailResponse> response =
      client->VerifyTrail(request);
  if (!response.ok()) {
    return ReportRpcError(response.status(), "audit verify failed", io);
  }
  io.out << (options.json ? MessageToJson(*response, true) + "\n"
                          : FormatVerifyTrail(*response));
  return response->ok() ? kExitAllow : kExitAuditMismatch;
}

// --- verifiable log ------------------------------------------------------------

absl::StatusOr<std::string> ReadWholeFile(const std::string& flag,
                                          const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " is required"));
  }
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("--", flag, ": ", text.status().message()));
  }
  return text;
}

absl::StatusOr<std::unique_ptr<TreeHeadVerifier>> LoadPublicKey(
    const CliOptions& options) {
  absl::StatusOr<std::string> pem =
      ReadWholeFile("public-key", options.public_key);
  if (!pem.ok()) return pem.status();
  auto verifier = TreeHeadVerifier::FromPublicKeyPem(*pem);
  if (!verifier.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--public-key=", options.public_key, ": ", verifier.status().message()));
  }
  return verifier;
}

absl::StatusOr<std::vector<SignedTreeHead>> LoadHeads(const std::string& flag,
                                                      const std::string& path) {
  absl::StatusOr<std::string> text = ReadWholeFile(flag, path);
  if (!text.ok()) return text.status();
  auto heads = ParseTreeHeadLog(*text);
  if (!heads.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", path, ": ", heads.status().message()));
  }
  return heads;
}

int ReportLog(const LogReport& report, absl::string_view what, CliIo& io) {
  if (report.ok) {
    io.out << "ok: " << what << "\n";
    return kExitAllow;
  }
  io.out << "MISMATCH: " << what << "\n";
  for (const std::string& p : report.problems) io.out << "  " << p << "\n";
  return kExitAuditMismatch;
}

// audit verify --offline: no server; the trail is read from a directory.
int AuditVerifyOffline(const CliOptions& options, CliIo& io) {
  absl::StatusOr<v1::TrailStream> stream = ParseStreamFlag(options.stream);
  if (!stream.ok()) return Usage(io, stream.status().message());
  if (options.trail.empty()) return Usage(io, "--trail is required with --offline");
  auto verifier = LoadPublicKey(options);
  if (!verifier.ok()) return Usage(io, verifier.status().message());
  auto heads = LoadHeads("head", options.head);
  if (!heads.ok()) return Usage(io, heads.status().message());
  TrailVerifier trail(static_cast<int>(*stream));
  absl::Status read = storage::ReadTrailEntries(
      options.trail, *stream, [&](uint64_t sequence, absl::string_view entry) {
        trail.Add(sequence, entry);
        return absl::OkStatus();
      });
  if (!read.ok()) {
    io.err << "tradecheck: audit verify --offline: " << read.message() << "\n";
    return kExitInput;
  }
  const LogReport report = trail.Finish(*heads, **verifier);
  return ReportLog(
      report,
      absl::StrCat(report.records, " records of the ",
                   TreeHeadStreamName(static_cast<int>(*stream)),
                   " stream in ", options.trail, " checked against ",
                   report.heads_checked, " signed tree head(s)"),
      io);
}

// audit verify-heads: every head in the log is signed, and consistent with
// the next one of its stream (consistency proofs fetched from the server,
// checked against the signed roots).
int AuditVerifyHeads(const CliOptions& options, CliIo& io,
                     const ClientFactory& make_client) {
  auto verifier = LoadPublicKey(options);
  if (!verifier.ok()) return Usage(io, verifier.status().message());
  auto heads = LoadHeads("log", options.log);
  if (!heads.ok()) return Usage(io, heads.status().message());
  LogReport report;
  std::unique_ptr<TradecheckClient> client;
  std::map<int, const SignedTreeHead*> last;  // per stream
  for (const SignedTreeHead& h : *heads) {
    ++report.heads_checked;
    const std::string name = absl::StrCat(TreeHeadStreamName(h.head.stream),
                                          " head of size ", h.head.tree_size);
    absl::Status sig = (*verifier)->Verify(h);
    if (!sig.ok()) {
      report.ok = false;
      report.problems.push_back(std::string(sig.message()));
      continue;
    }
    const SignedTreeHead* before = last[h.head.stream];
    last[h.head.stream] = &h;
    if (before == nullptr) continue;
    const TreeHead& a = before->head;
    if (h.head.tree_size < a.tree_size) {
      report.ok = false;
      report.problems.push_back(absl::StrCat(
          "the ", name, " follows a head of size ", a.tree_size,
          ": the log went backwards"));
      continue;
    }
    std::vector<std::string> proof;
    if (a.tree_size != 0 && a.tree_size != h.head.tree_size) {
      if (client == nullptr) {
        int exit_code = kExitServer;
        client = MakeClient(options, io, make_client, &exit_code);
        if (client == nullptr) return exit_code;
      }
      v1::GetConsistencyProofRequest request;
      request.set_stream(static_cast<v1::TrailStream>(h.head.stream));
      request.set_first_size(a.tree_size);
      request.set_second_size(h.head.tree_size);
      auto response = client->GetConsistencyProof(request);
      if (!response.ok()) {
        return ReportRpcError(response.status(), "audit verify-heads failed",
                              io);
      }
      proof.assign(response->proof().begin(), response->proof().end());
    }
    absl::Status s = merkle::VerifyConsistency(a.tree_size, h.head.tree_size,
                                               a.root_hash, h.head.root_hash,
                                               proof);
    if (!s.ok()) {
      report.ok = false;
      report.problems.push_back(absl::StrCat(
          "the ", name, " is not consistent with the head of size ",
          a.tree_size, " before it: ", s.message()));
    }
  }
  return ReportLog(report,
                   absl::StrCat(report.heads_checked, " signed tree heads in ",
                                options.log, ", each consistent with the next"),
                   io);
}

// audit proof DECISION_ID: the decision, the newest signed head of its
// stream and the inclusion proof, all checked here.
int AuditProof(const std::string& id, const CliOptions& options, CliIo& io,
               const ClientFactory& make_client) {
  auto verifier = LoadPublicKey(options);
  if (!verifier.ok()) return Usage(io, verifier.status().message());
  int exit_code = kExitServer;
  std::unique_ptr<TradecheckClient> client =
      MakeClient(options, io, make_client, &exit_code);
  if (client == nullptr) return exit_code;
  absl::StatusOr<v1::Decision> decision = client->GetDecision(id);
  if (!decision.ok()) {
    return ReportRpcError(decision.status(), "audit proof failed", io);
  }
  v1::GetSignedTreeHeadRequest head_request;
  head_request.set_stream(decision->stream());
  absl::StatusOr<v1::SignedTreeHead> head_proto =
      client->GetSignedTreeHead(head_request);
  if (!head_proto.ok()) {
    return ReportRpcError(head_proto.status(), "audit proof failed", io);
  }
  const SignedTreeHead head = FromProto(*head_proto);
  LogReport report;
  report.heads_checked = 1;
  absl::Status sig = (*verifier)->Verify(head);
  if (!sig.ok()) {
    report.ok = false;
    report.problems.push_back(std::string(sig.message()));
  } else {
    v1::GetInclusionProofRequest request;
    request.set_decision_id(id);
    request.set_tree_size(head.head.tree_size);
    auto proof = client->GetInclusionProof(request);
    if (!proof.ok()) {
      return ReportRpcError(proof.status(), "audit proof failed", io);
    }
    absl::Status s = CheckInclusion(*decision, *proof, head);
    if (!s.ok()) {
      report.ok = false;
      report.problems.push_back(std::string(s.message()));
    }
  }
  if (!report.ok) return ReportLog(report, id, io);
  io.out << "ok: " << id << " is leaf " << decision->sequence() - 1
         << " of the signed " << TreeHeadStreamName(head.head.stream)
         << " tree of " << head.head.tree_size << " records\n"
         << "  root " << absl::BytesToHexString(head.head.root_hash) << "\n"
         << "  head " << head_proto->log_line() << "\n";
  return kExitAllow;
}

int AuditReevaluate(const std::string& id, const CliOptions& options, CliIo& io,
                    const ClientFactory& make_client) {
  int exit_code = kExitServer;
  std::unique_ptr<TradecheckClient> client =
      MakeClient(options, io, make_client, &exit_code);
  if (client == nullptr) return exit_code;
  absl::StatusOr<v1::ReevaluateDecisionResponse> response =
      client->ReevaluateDecision(id);
  if (!response.ok()) {
    return ReportRpcError(response.status(), "audit reevaluate failed", io);
  }
  io.out << (options.json ? MessageToJson(*response, true) + "\n"
                          : FormatReevaluation(*response));
  return response->matches_stored() ? kExitAllow : kExitAuditMismatch;
}

// --- measures, rules preview --------------------------------------------------

int Measures(const std::string& hs_code, const CliOptions& options, CliIo& io,
             const ClientFactory& make_client) {
  v1::LookupMeasuresRequest request;
  request.set_hs_code(hs_code);
  request.set_origin(options.origin);
  request.set_destination(options.destination);
  request.set_export_country(options.export_country);
  if (options.origin.empty()) return Usage(io, "--origin is required");
  if (!options.date.empty()) {
    absl::StatusOr<v1::Date> date = ParseDate(options.date);
    if (!date.ok()) {
      return Usage(io,
                   absl::StrCat("--date=", options.date, ": expected YYYY-MM-DD"));
    }
    *request.mutable_date() = *date;
  }
  const std::string kind = absl::AsciiStrToLower(options.kind);
  if (kind == "import") {
    request.set_kind(v1::DECLARATION_KIND_IMPORT_ENTRY);
  } else if (kind == "export") {
    request.set_kind(v1::DECLARATION_KIND_EXPORT_SHIPMENT);
  } else if (!kind.empty()) {
    return Usage(io, absl::StrCat("--kind=", options.kind,
                                  ": expected import or export"));
  }
  int exit_code = kExitServer;
  std::unique_ptr<TradecheckClient> client =
      MakeClient(options, io, make_client, &exit_code);
  if (client == nullptr) return exit_code;
  absl::StatusOr<v1::LookupMeasuresResponse> response =
      client->LookupMeasures(request);
  if (!response.ok()) {
    return ReportRpcError(response.status(), "measures failed", io);
  }
  io.out << (options.json ? MessageToJson(*response, true) + "\n"
                          : FormatMeasureLookup(*response));
  return kExitAllow;
}

int RulesPreview(const std::string& dir, const CliOptions& options, CliIo& io,
                 const ClientFactory& make_client) {
  v1::PreviewRuleSetRequest request;
  request.set_agreements_dir(dir);
  if (!options.since.empty()) {
    absl::StatusOr<google::protobuf::Timestamp> since =
        ParseTimeFlag("since", options.since);
    if (!since.ok()) return Usage(io, since.status().message());
    *request.mutable_recorded_from() = *since;
  }
  if (!options.until.empty()) {
    absl::StatusOr<google::protobuf::Timestamp> until =
        ParseTimeFlag("until", options.until);
    if (!until.ok()) return Usage(io, until.status().message());
    *request.mutable_recorded_to() = *until;
  }
  if (options.limit < 0 || options.limit > 100000) {
    return Usage(io, "--limit must be between 0 and 100000 (0: 10000)");
  }
  request.set_limit(static_cast<int32_t>(options.limit));
  int exit_code = kExitServer;
  std::unique_ptr<TradecheckClient> client =
      MakeClient(options, io, make_client, &exit_code);
  if (client == nullptr) return exit_code;
  if (!options.json) io.out << FormatPreviewHeader();
  absl::StatusOr<v1::PreviewTotals> totals = client->PreviewRuleSet(
      request, [&](const v1::PreviewChange& change) {
        io.out << (options.json ? MessageToJson(change, false) + "\n"
                                : FormatPreviewChange(change));
        return absl::OkStatus();
      });
  if (!totals.ok()) {
    return ReportRpcError(totals.status(), "rules preview failed", io);
  }
  io.out << (options.json ? MessageToJson(*totals, false) + "\n"
                          : FormatPreviewTotals(*totals));
  return kExitAllow;
}

// Fetches every page of retroactive-impact record `id` (the most changes
// per page the server allows) and passes each page's record to `page`, in
// order: the first carries the record's fields, every page its changes.
absl::Status ForEachImpactPage(
    TradecheckClient& client, const std::string& id,
    const std::function<void(const v1::RetroactiveImpact&, bool first)>&
        page) {
  v1::GetRetroactiveImpactRequest request;
  request.set_impact_id(id);
  request.set_page_size(1000);
  do {
    absl::StatusOr<v1::GetRetroactiveImpactResponse> response =
        client.GetRetroactiveImpact(request);
    if (!response.ok()) return response.status();
    page(response->impact(), request.page_token().empty());
    request.set_page_token(response->next_page_token());
  } while (!request.page_token().empty());
  return absl::OkStatus();
}

// Adds a page to `whole`, the record as served with all its changes.
void AddImpactPage(const v1::RetroactiveImpact& page, bool first,
                   v1::RetroactiveImpact* whole) {
  if (first) {
    *whole = page;
    return;
  }
  for (const v1::PreviewChange& change : page.changes()) {
    *whole->add_changes() = change;
  }
}

// With --public-key: the whole record (every page of its changes) against
// its content digest, recomputed here, and the digest against the
// server's signature. The server is not trusted for either.
int VerifyImpact(const v1::RetroactiveImpact& whole, const CliOptions& options,
                 CliIo& io) {
  auto verifier = LoadPublicKey(options);
  if (!verifier.ok()) {
    io.err << "tradecheck: " << verifier.status().message() << "\n";
    return kExitInput;
  }
  if (absl::Status s = CheckImpactRecord(whole, **verifier); !s.ok()) {
    io.err << "tradecheck: " << s.message() << "\n";
    return kExitAuditMismatch;
  }
  io.out << "Verified      the content digest of all " << whole.changes_size()
         << " changes, and the signature against " << options.public_key
         << "\n";
  return kExitAllow;
}

// audit impacts [ID]: every retroactive-impact record, one line each; or
// one record with all its changes (fetched page by page) and its totals.
int AuditImpacts(const std::string& id, const CliOptions& options, CliIo& io,
                 const ClientFactory& make_client) {
  if (!options.log.empty()) {
    return Usage(io, "--log applies to audit verify-heads and audit "
                     "verify-impacts");
  }
  if (id.empty() && !options.public_key.empty()) {
    // One record is checked whole; a listing holds no changes to check.
    return Usage(io, "--public-key checks one record: tradecheck audit "
                     "impacts IMPACT_ID --public-key=FILE (the whole chain: "
                     "tradecheck audit verify-impacts)");
  }
  int exit_code = kExitServer;
  std::unique_ptr<TradecheckClient> client =
      MakeClient(options, io, make_client, &exit_code);
  if (client == nullptr) return exit_code;
  if (id.empty()) {
    v1::ListRetroactiveImpactsRequest request;
    if (!options.json) io.out << FormatImpactListHeader();
    do {
      absl::StatusOr<v1::ListRetroactiveImpactsResponse> page =
          client->ListRetroactiveImpacts(request);
      if (!page.ok()) {
        return ReportRpcError(page.status(), "audit impacts failed", io);
      }
      for (const v1::RetroactiveImpact& impact : page->impacts()) {
        io.out << (options.json ? MessageToJson(impact, false) + "\n"
                                : FormatImpactLine(impact));
      }
      request.set_page_token(page->next_page_token());
    } while (!request.page_token().empty());
    return kExitAllow;
  }
  v1::RetroactiveImpact first;
  v1::RetroactiveImpact whole;  // kept for --public-key
  absl::Status fetched = ForEachImpactPage(
      *client, id, [&](const v1::RetroactiveImpact& page, bool first_page) {
        if (first_page) {
          first = page;
          first.clear_changes();
          if (!options.json) io.out << FormatImpactHeader(first);
        }
        if (!options.public_key.empty()) {
          AddImpactPage(page, first_page, &whole);
        }
        if (options.json) {
          io.out << MessageToJson(page, false) + "\n";
        } else {
          for (const v1::PreviewChange& change : page.changes()) {
            io.out << FormatPreviewChange(change);
          }
        }
      });
  if (!fetched.ok()) {
    return ReportRpcError(fetched, "audit impacts failed", io);
  }
  if (!options.json) io.out << FormatImpactTotals(first);
  if (options.public_key.empty()) return kExitAllow;
  return VerifyImpact(whole, options, io);
}

// "1 retroactive-impact record", "2 retroactive-impact records".
std::string ImpactRecords(uint64_t n) {
  return absl::StrCat(n, n == 1 ? " retroactive-impact record"
                                : " retroactive-impact records");
}

// audit verify-impacts: the whole chain of retroactive-impact records,
// oldest first, each fetched whole and checked here (ImpactChainVerifier),
// and with --log every record the tree-head log anchors. The server is
// trusted for nothing: what it lists is checked for gaps, what it serves
// against the digests, signatures, links and anchors.
int AuditVerifyImpacts(const CliOptions& options, CliIo& io,
                       const ClientFactory& make_client) {
  if (options.offline || !options.trail.empty() || !options.head.empty()) {
    return Usage(io, "audit verify-impacts reads the records from the server "
                     "and the anchors from --log=FILE (--offline, --trail and "
                     "--head are for audit verify --offline)");
  }
  if (options.public_key.empty()) {
    return Usage(io, "usage: tradecheck audit verify-impacts "
                     "--public-key=FILE [--log=FILE]: --public-key is "
                     "required");
  }
  auto verifier = LoadPublicKey(options);
  if (!verifier.ok()) return Usage(io, verifier.status().message());
  WitnessLog log;
  if (!options.log.empty()) {
    absl::StatusOr<std::string> text = ReadWholeFile("log", options.log);
    if (!text.ok()) return Usage(io, text.status().message());
    absl::StatusOr<WitnessLog> parsed = ParseWitnessLog(*text);
    if (!parsed.ok()) {
      return Usage(io, absl::StrCat("--log=", options.log, ": ",
                                    parsed.status().message()));
    }
    log = *std::move(parsed);
  }
  int exit_code = kExitServer;
  std::unique_ptr<TradecheckClient> client =
      MakeClient(options, io, make_client, &exit_code);
  if (client == nullptr) return exit_code;

  ImpactChainVerifier chain(**verifier);
  // The ids the server lists (newest first), then each record oldest first.
  std::vector<uint64_t> numbers;
  v1::ListRetroactiveImpactsRequest list;
  list.set_page_size(100);
  do {
    absl::StatusOr<v1::ListRetroactiveImpactsResponse> page =
        client->ListRetroactiveImpacts(list);
    if (!page.ok()) {
      if (absl::IsDataLoss(page.status())) {
        // The server's own check of its records failed: what it names is
        // the verdict, not a transport error.
        LogReport report;
        report.ok = false;
        report.problems.push_back(std::string(page.status().message()));
        return ReportLog(report, "the server cannot list its "
                                 "retroactive-impact records", io);
      }
      return ReportRpcError(page.status(), "audit verify-impacts failed", io);
    }
    for (const v1::RetroactiveImpact& impact : page->impacts()) {
      absl::StatusOr<uint64_t> number = ParseImpactId(impact.impact_id());
      if (!number.ok()) {
        LogReport report;
        report.ok = false;
        report.problems.push_back(absl::StrCat(
            "the server lists \"", impact.impact_id(), "\": ",
            number.status().message()));
        return ReportLog(report, "retroactive-impact records", io);
      }
      numbers.push_back(*number);
    }
    list.set_page_token(page->next_page_token());
  } while (!list.page_token().empty());
  std::sort(numbers.begin(), numbers.end());
  numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
  for (uint64_t number : numbers) {
    v1::RetroactiveImpact whole;
    absl::Status fetched = ForEachImpactPage(
        *client, ImpactId(number),
        [&](const v1::RetroactiveImpact& page, bool first) {
          AddImpactPage(page, first, &whole);
        });
    if (absl::IsDataLoss(fetched) || absl::IsNotFound(fetched)) {
      chain.Unreadable(number, fetched);
    } else if (!fetched.ok()) {
      return ReportRpcError(fetched, "audit verify-impacts failed", io);
    } else {
      chain.Add(number, whole);
    }
  }
  const LogReport report = chain.Finish(log.impacts);
  if (!report.ok) {
    return ReportLog(report,
                     absl::StrCat("the chain of ",
                                  ImpactRecords(numbers.size())),
                     io);
  }
  std::string what =
      chain.newest() == 0
          ? std::string("no retroactive-impact records")
          : absl::StrCat(ImpactRecords(report.records), ", ",
                         ImpactId(1), " to ", ImpactId(chain.newest()),
                         ": every digest recomputed, every signature "
                         "checked, each linked to the record before");
  if (!options.log.empty()) {
    absl::StrAppend(&what, "\n  ", report.heads_checked, " anchored in ",
                    options.log);
    if (chain.newest_anchored() != 0) {
      absl::StrAppend(&what, ", the newest ", ImpactId(chain.newest_anchored()),
                      ", each served with the digest the log recorded");
    }
    if (chain.newest() > chain.newest_anchored()) {
      absl::StrAppend(
          &what, "\n  not anchored: ",
          ImpactId(chain.newest_anchored() + 1), " to ",
          ImpactId(chain.newest()),
          " (written before the server anchored records, or the log's last "
          "lines are lost); nothing outside the store shows a record dropped "
          "after ", ImpactId(chain.newest_anchored()));
    }
  } else if (chain.newest() != 0) {
    absl::StrAppend(&what,
                    "\n  not anchored: without --log (the tree-head log) "
                    "nothing shows a record dropped from the chain's end");
  }
  if (chain.unsigned_through() != 0) {
    absl::StrAppend(&what, "\n  unsigned: records up to ",
                    ImpactId(chain.unsigned_through()),
                    " carry no signature (written before records were "
                    "signed); the records after them cover them through the "
                    "links");
  }
  return ReportLog(report, what, io);
}

// Runs a call that returns one message and prints it.
template <typename Response, typename Call, typename Format>
int SimpleCommand(const CliOptions& options, CliIo& io,
                  const ClientFactory& make_client, absl::string_view what,
                  Call call, Format format) {
  int exit_code = kExitServer;
  std::unique_ptr<TradecheckClient> client =
      MakeClient(options, io, make_client, &exit_code);
  if (client == nullptr) return exit_code;
  absl::StatusOr<Response> response = call(*client);
  if (!response.ok()) {
    return ReportRpcError(response.status(), absl::StrCat(what, " failed"), io);
  }
  io.out << (options.json ? MessageToJson(*response, true) + "\n"
                          : format(*response));
  return kExitAllow;
}

// True when args start with `command` `sub`.
bool Is(const std::vector<std::string>& args, absl::string_view command,
        absl::string_view sub) {
  return args.size() >= 2 && args[0] == command && args[1] == sub;
}

}  // namespace

int RunCli(const std::vector<std::string>& args, const CliOptions& options,
           CliIo& io, const ClientFactory& make_client) {
  if (args.empty()) return Usage(io, "no command given");
  const std::string& command = args[0];
  auto want_args = [&](size_t n, absl::string_view usage) -> bool {
    if (args.size() == n) return true;
    Usage(io, absl::StrCat("usage: tradecheck ", usage));
    return false;
  };

  if (command == "check") {
    if (!want_args(2, "check [--validate-only] [--batch] FILE|-")) {
      return kExitUsage;
    }
    return options.batch ? CheckBatchFile(args[1], options, io, make_client)
                         : CheckOne(args[1], options, io, make_client);
  }
  if (options.batch || options.validate_only) {
    return Usage(io, "--batch and --validate-only apply to 'check' only");
  }

  if (Is(args, "decision", "get")) {
    if (!want_args(3, "decision get DECISION_ID")) return kExitUsage;
    const std::string id = args[2];
    return SimpleCommand<v1::Decision>(
        options, io, make_client, "decision get",
        [&](TradecheckClient& c) { return c.GetDecision(id); },
        [](const v1::Decision& d) { return FormatDecision(d); });
  }
  if (Is(args, "audit", "list")) {
    if (!want_args(2, "audit list [filters]")) return kExitUsage;
    return AuditList(options, io, make_client);
  }
  if (Is(args, "audit", "report")) {
    if (!want_args(2, "audit report --from=DATE --to=DATE [--group-by=...] "
                      "[--format=table|csv|html] [--output=FILE]")) {
      return kExitUsage;
    }
    return AuditReport(options, io, make_client);
  }
  if (Is(args, "audit", "impacts")) {
    if (args.size() != 2 && args.size() != 3) {
      return Usage(io, "usage: tradecheck audit impacts [IMPACT_ID "
                       "[--public-key=FILE]]");
    }
    return AuditImpacts(args.size() == 3 ? args[2] : "", options, io,
                        make_client);
  }
  if (Is(args, "audit", "verify-impacts")) {
    if (!want_args(2, "audit verify-impacts --public-key=FILE [--log=FILE]")) {
      return kExitUsage;
    }
    return AuditVerifyImpacts(options, io, make_client);
  }
  if (Is(args, "audit", "verify") && options.offline) {
    if (!want_args(2,
                   "audit verify --offline --trail=DIR --head=FILE "
                   "--public-key=FILE [--stream=S]")) {
      return kExitUsage;
    }
    return AuditVerifyOffline(options, io);
  }
  if (Is(args, "audit", "verify-heads")) {
    if (!want_args(2, "audit verify-heads --log=FILE --public-key=FILE")) {
      return kExitUsage;
    }
    return AuditVerifyHeads(options, io, make_client);
  }
  if (Is(args, "audit", "proof")) {
    if (!want_args(3, "audit proof DECISION_ID --public-key=FILE")) {
      return kExitUsage;
    }
    return AuditProof(args[2], options, io, make_client);
  }
  if (Is(args, "audit", "verify")) {
    if (!want_args(2,
                   "audit verify [--stream=S] [--from-sequence=N] "
                   "[--to-sequence=N]")) {
      return kExitUsage;
    }
    return AuditVerify(options, io, make_client);
  }
  if (Is(args, "audit", "reevaluate")) {
    if (!want_args(3, "audit reevaluate DECISION_ID")) return kExitUsage;
    return AuditReevaluate(args[2], options, io, make_client);
  }
  if (Is(args, "agreements", "list")) {
    if (!want_args(2, "agreements list [--as-of=YYYY-MM-DD]")) {
      return kExitUsage;
    }
    std::optional<v1::Date> as_of;
    if (!options.as_of.empty()) {
      absl::StatusOr<v1::Date> date = ParseDate(options.as_of);
      if (!date.ok()) {
        return Usage(io, absl::StrCat("--as-of=", options.as_of,
                                      ": expected YYYY-MM-DD"));
      }
      as_of = *date;
    }
    return SimpleCommand<v1::ListInstrumentsResponse>(
        options, io, make_client, "agreements list",
        [&](TradecheckClient& c) { return c.ListInstruments(as_of); },
        [](const v1::ListInstrumentsResponse& r) {
          return FormatInstrumentList(r);
        });
  }
  if (Is(args, "agreements", "show")) {
    if (!want_args(3, "agreements show INSTRUMENT_ID")) return kExitUsage;
    const std::string id = args[2];
    return SimpleCommand<v1::Instrument>(
        options, io, make_client, "agreements show",
        [&](TradecheckClient& c) { return c.GetInstrument(id); },
        [](const v1::Instrument& i) { return FormatInstrument(i); });
  }
  if (Is(args, "rules", "reload")) {
    if (!want_args(2, "rules reload")) return kExitUsage;
    return SimpleCommand<v1::ReloadRuleSetResponse>(
        options, io, make_client, "rules reload",
        [](TradecheckClient& c) { return c.ReloadRuleSet(); },
        [](const v1::ReloadRuleSetResponse& r) { return FormatReload(r); });
  }
  if (Is(args, "rules", "preview")) {
    if (!want_args(3,
                   "rules preview NAME [--since=TIME] [--until=TIME] "
                   "[--limit=N]")) {
      return kExitUsage;
    }
    return RulesPreview(args[2], options, io, make_client);
  }
  if (command == "measures") {
    if (!want_args(2,
                   "measures HS_CODE --origin=CC [--date=YYYY-MM-DD] "
                   "[--destination=CC] [--kind=import|export] "
                   "[--export-country=CC]")) {
      return kExitUsage;
    }
    return Measures(args[1], options, io, make_client);
  }
  if (Is(args, "rules", "show")) {
    if (!want_args(2, "rules show")) return kExitUsage;
    return SimpleCommand<v1::RuleSetInfo>(
        options, io, make_client, "rules show",
        [](TradecheckClient& c) { return c.GetRuleSet(); },
        [](const v1::RuleSetInfo& r) { return FormatRuleSet(r); });
  }
  if (command == "health") {
    // For HEALTHCHECK and probes: exit 0 only when the server serves.
    if (!want_args(1, "health")) return kExitUsage;
    int exit_code = kExitServer;
    std::unique_ptr<TradecheckClient> client =
        MakeClient(options, io, make_client, &exit_code);
    if (client == nullptr) return exit_code;
    absl::StatusOr<std::string> health = client->Health();
    if (!health.ok()) return ReportRpcError(health.status(), "health failed", io);
    io.out << *health << "\n";
    return *health == "SERVING" ? kExitAllow : kExitServer;
  }
  if (command == "stats") {
    if (!want_args(1, "stats")) return kExitUsage;
    return SimpleCommand<v1::GetStoreStatsResponse>(
        options, io, make_client, "stats",
        [](TradecheckClient& c) { return c.GetStoreStats(); },
        [](const v1::GetStoreStatsResponse& r) {
          return FormatStoreStats(r);
        });
  }
  if (command == "backup") {
    if (!want_args(2, "backup NAME")) return kExitUsage;
    const std::string directory = args[1];
    return SimpleCommand<v1::CreateBackupResponse>(
        options, io, make_client, "backup",
        [&](TradecheckClient& c) { return c.CreateBackup(directory); },
        [](const v1::CreateBackupResponse& r) { return FormatBackup(r); });
  }
  return Usage(
      io, absl::StrCat("unknown command '", absl::StrJoin(args, " "), "'"));
}

std::string HelpText() {
  return R"(tradecheck: check shipment declarations against US-ASEAN trade deals and
China's rare-earth export controls, and query the audit trail.

Usage: tradecheck [options] COMMAND [ARGS]

Commands
  check FILE|-                 Check one declaration (JSON: the protobuf JSON
                               mapping of tradecheck.v1.Declaration; - = stdin).
  check --validate-only FILE   Exporter's dry run: evaluated and recorded in the
                               validate-only trail; binds nothing.
  check --batch FILE.jsonl|-   Check one declaration per line over one stream;
                               progress on stderr (terminal only), summary at
                               the end. Every line is validated before any is
                               sent. Combines with --validate-only.
  decision get ID              Show a recorded decision: by decision id
                               (b-000000000001) or by declaration id (the
                               binding decision of CBP-ENT-...).
  audit list                   List decisions, newest first, all pages.
      --exporter=ID --importer=ID --origin=CC --hs-prefix=DIGITS
      --outcome=allow|deny|needs_review --rule=RULE_ID
      --from=TIME --to=TIME (recorded_at in [from, to); YYYY-MM-DD = 00:00 UTC,
                             or RFC 3339 like 2026-03-01T08:00:00Z)
      --revision=RULE_SET_REVISION --stream=binding|validate_only
      --declaration=ID --destination=CC
      --governing-from=DATE --governing-to=DATE (the entry or export date
          that governed the verdict, both inclusive, YYYY-MM-DD)
      --caller=IDENTITY --role=customs|exporter|auditor|admin|local
      --duty-min=AMOUNT --duty-max=AMOUNT (total duty, e.g. 2500.00 for USD
          or "EUR 2500.00"; checked on the records the other filters select)
      --page-size=N (1..1000, per request) --limit=N (stop after N)
      --order=asc|desc (by recorded time; default desc, newest first)
      --order=governing-asc|governing-desc (by governing date, with
        --governing-from and --governing-to)
  audit report --from=DATE --to=DATE
                               Counts and duties of the binding decisions
                               governed in [from, to] (inclusive), grouped.
      --group-by=outcome,rule,origin,destination,hs-chapter,exporter,month
          (up to 3; default outcome) --format=table|csv|html
      --output=FILE (html: one self-contained file with SVG charts)
      and any audit list filter (--origin, --exporter, ...)
  audit impacts [IMPACT_ID]    The retroactive-impact records reloads wrote
                               (past binding decisions a new revision decides
                               differently; their verdicts stay as stored),
                               or one of them with every change it lists.
      --public-key=FILE        With an id: check the record's content digest
                               and the server's signature (the tree-head key)
  audit verify-impacts --public-key=FILE [--log=FILE]
                               Check the whole chain of retroactive-impact
                               records here: ids from the first without a
                               gap, every digest, signature and link; with
                               --log (the tree-head log), every record it
                               anchors is still served with its digest.
  audit verify                 Verify the trail's hash chain.
      --stream=binding|validate_only --from-sequence=N --to-sequence=N
  audit verify --offline --trail=DIR --head=FILE --public-key=FILE
                               No server: rebuild the Merkle tree of a backup,
                               checkpoint or stopped store DIR and check it,
                               and its hash chain, against every signed tree
                               head in FILE (one head, or a tree-head log).
  audit verify-heads --log=FILE --public-key=FILE
                               Check every head in a tree-head log is signed
                               and consistent with the next (proofs from the
                               server, checked here).
  audit proof ID --public-key=FILE
                               Fetch the newest signed tree head and ID's
                               inclusion proof, and check both here.
  audit reevaluate ID          Re-run a decision under its original and the
                               current rule set; report what changed.
  agreements list [--as-of=YYYY-MM-DD]
  agreements show ID           An instrument with its measures and status.
  measures HS_CODE --origin=CC Every measure that applies or may apply to the
                               product from CC, with rate or terms, status,
                               confirmation and source; no declaration.
      --date=YYYY-MM-DD (default today) --destination=CC
      --kind=import|export --export-country=CC (a re-export)
  rules show                   The rule-set revision in force.
  rules reload                 Re-read the agreement files on the server.
  rules preview NAME           Evaluate the agreement data in directory NAME
                               under the server's --candidates_root against
                               the binding decisions without activating it;
                               print each verdict that would change, then
                               totals (admin or auditor).
      --since=TIME --until=TIME (recorded_at range, as for audit list)
      --limit=N (decisions evaluated, newest first; default 10000)
  health                       SERVING (exit 0) or NOT_SERVING (exit 3)
  stats                        Audit store counters since the server started
                               (records, group commits, fsyncs, replays) and
                               the trail's heads.
  backup NAME                  Write a consistent backup of the store to a new
                               directory NAME ([A-Za-z0-9._-]) under the
                               server's --backup_root (admin role).

Options
  --server=HOST:PORT   Server address (default 127.0.0.1:50051).
  --timeout=DURATION   Deadline of each call, e.g. 10s, 500ms (default 10s).
  --stream-timeout=D   Deadline of a whole --batch stream (default 30m).
  --tls                Use TLS (for a server behind a TLS endpoint).
  --ca-cert=FILE       PEM CA certificate(s) to trust with --tls (default:
                       the system's roots).
  --ca=FILE            Mutual TLS: the CA that signed the server's
                       certificate (env TRADECHECK_CA). Implies --tls.
  --cert=FILE          Mutual TLS: this caller's client certificate; the
                       server takes identity and role from it (env
                       TRADECHECK_CERT).
  --key=FILE           Mutual TLS: the certificate's private key (env
                       TRADECHECK_KEY). TRADECHECK_SERVER sets --server.
  --max-attempts=N     Attempts for calls safe to retry on UNAVAILABLE
                       (default 4; 1 = no retries). Backups are never retried.
  --json               Machine-readable output: the protobuf JSON mapping with
                       .proto field names. Listings and batches print one
                       JSON object per line (JSON Lines).
  --help               This text.
  Flag names may be written with '-' or '_' (--ca-cert, --ca_cert).

Exit codes
  0   ALLOW (check); success (other commands)
  1   usage error (bad command, flag or flag value)
  2   input error: unreadable file, invalid JSON, unknown or missing field,
      or the server rejected the declaration (INVALID_ARGUMENT,
      ALREADY_EXISTS; for backup: DIR exists); for --batch, any
      declaration rejected
  3   server or RPC error (unreachable, deadline exceeded, internal error)
  10  DENY (--batch: at least one DENY and nothing rejected)
  11  NEEDS_REVIEW (--batch: at least one, no DENY, nothing rejected)
  12  audit verify found a broken chain (or, --offline, a trail that does
      not match a signed head), verify-heads, verify-impacts, proof or
      impacts --public-key did not check out, or audit reevaluate did not
      reproduce the stored verdict

See docs/cli.md for examples.
)";
}

}  // namespace tradecheck::cli
