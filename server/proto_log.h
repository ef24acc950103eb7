// Routes protobuf's own log lines (e.g. "String field ... contains invalid
// UTF-8 data when parsing a protocol buffer", written for every unreadable
// request) to stderr at a bounded rate, so a client sending garbage cannot
// flood the server's log: at most kBurst lines, then one line per
// kRefillSeconds, each later line saying how many were suppressed.
#ifndef TRADECHECK_SERVER_PROTO_LOG_H_
#define TRADECHECK_SERVER_PROTO_LOG_H_

#include <cstdint>
#include <string>

namespace tradecheck::server {

inline constexpr int kProtoLogBurst = 10;
inline constexpr int kProtoLogRefillSeconds = 10;

// Installs the handler for the whole process (protobuf has one).
void InstallRateLimitedProtobufLog();

// The rate limiter alone, for tests: true when a line at `now_seconds` may
// be written; `*suppressed` is then the number dropped since the last one.
class LogRateLimiter {
 public:
  bool Allow(double now_seconds, int64_t* suppressed);

 private:
  double tokens_ = kProtoLogBurst;
  double last_ = -1;
  int64_t dropped_ = 0;
};

}  // namespace tradecheck::server

#endif  // TRADECHECK_SERVER_PROTO_LOG_H_
