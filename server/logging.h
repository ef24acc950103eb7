// The server's one logger: every line the server writes to stderr is a JSON
// object on its own line, {"time":...,"level":...,...}, so a log shipper can
// parse it without a grok pattern. Lines below --log_level are dropped.
//
// Built on spdlog (Debian's libspdlog-dev): a maintained library that gives
// levels, a thread-safe sink and a UTC pattern for the time stamp, with fmt
// already a dependency of it; glog would bring its own flags and a fatal-log
// model the server does not want. gRPC's own log (gpr_set_log_function) and
// protobuf's (proto_log.h) are routed here too.
//
//   InitLogging("info");                 // once, in main
//   LogInfo("serving on port 50051");    // {"time":..,"level":"info","msg":"serving on port 50051"}
//   LogFields(LogLevel::kInfo, "\"method\":\"/x\"");  // pre-built JSON fields
//
// No gRPC or spdlog types here: this header is cheap to include.
#ifndef TRADECHECK_SERVER_LOGGING_H_
#define TRADECHECK_SERVER_LOGGING_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tradecheck::server {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Sets up the logger at `level` ("debug", "info", "warning", "error") and
// routes gRPC's log through it. INVALID_ARGUMENT naming --log_level for any
// other level. Before it is called, lines go to stderr at "info".
absl::Status InitLogging(absl::string_view level);

// One line with a "msg" field.
void Log(LogLevel level, absl::string_view message);
inline void LogInfo(absl::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarning(absl::string_view m) { Log(LogLevel::kWarning, m); }
inline void LogError(absl::string_view m) { Log(LogLevel::kError, m); }

// One line whose fields after time and level are `json_fields`: one or more
// `"key":value` pairs, comma-separated, already valid JSON.
void LogFields(LogLevel level, absl::string_view json_fields);

// Whether a line at `level` would be written (to skip building it).
bool ShouldLog(LogLevel level);

// `text` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view text);

}  // namespace tradecheck::server

#endif  // TRADECHECK_SERVER_LOGGING_H_
