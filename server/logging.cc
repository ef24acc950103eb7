#include "server/logging.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpc/support/log.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace tradecheck::server {
namespace {

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarning:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::shared_ptr<spdlog::logger> MakeLogger() {
  auto logger = std::make_shared<spdlog::logger>(
      "tradecheck", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  // %v is the rest of the object: "msg":"..." or pre-built fields. spdlog
  // names the warning level "warning" and errors "error".
  logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})",
                      spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::info);
  // One line is written whole or not at all, and at once: a crash must not
  // eat the last lines, and tests read the log while the server runs.
  logger->flush_on(spdlog::level::trace);
  return logger;
}

spdlog::logger& Logger() {
  static const std::shared_ptr<spdlog::logger> logger = MakeLogger();
  return *logger;
}

void GrpcLog(gpr_log_func_args* args) {
  const LogLevel level = args->severity == GPR_LOG_SEVERITY_ERROR  ? LogLevel::kError
                         : args->severity == GPR_LOG_SEVERITY_INFO ? LogLevel::kInfo
                                                                   : LogLevel::kDebug;
  if (!ShouldLog(level)) return;
  LogFields(level, absl::StrCat("\"msg\":", JsonQuote(args->message),
                                ",\"source\":\"grpc\",\"file\":",
                                JsonQuote(absl::StrCat(args->file, ":", args->line))));
}

}  // namespace

absl::Status InitLogging(absl::string_view level) {
  LogLevel parsed;
  if (level == "debug") {
    parsed = LogLevel::kDebug;
  } else if (level == "info") {
    parsed = LogLevel::kInfo;
  } else if (level == "warning") {
    parsed = LogLevel::kWarning;
  } else if (level == "error") {
    parsed = LogLevel::kError;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--log_level=", level, ": expected debug, info, warning or error"));
  }
  Logger().set_level(ToSpdlog(parsed));
  gpr_set_log_function(GrpcLog);
  return absl::OkStatus();
}

bool ShouldLog(LogLevel level) { return Logger().should_log(ToSpdlog(level)); }

void Log(LogLevel level, absl::string_view message) {
  if (!ShouldLog(level)) return;
  LogFields(level, absl::StrCat("\"msg\":", JsonQuote(message)));
}

void LogFields(LogLevel level, absl::string_view json_fields) {
  Logger().log(ToSpdlog(level), "{}",
               fmt::string_view(json_fields.data(), json_fields.size()));
}

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  out.reserve(text.size() + 2);
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace tradecheck::server
