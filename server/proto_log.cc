#include "server/proto_log.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "server/logging.h"

namespace tradecheck::server {
namespace {

absl::Mutex log_mu(absl::kConstInit);
LogRateLimiter* limiter ABSL_GUARDED_BY(log_mu) = nullptr;

void Handle(google::protobuf::LogLevel level, const char* filename, int line,
            const std::string& message) {
  int64_t suppressed = 0;
  {
    absl::MutexLock lock(&log_mu);
    if (limiter == nullptr) limiter = new LogRateLimiter();  // never freed
    if (!limiter->Allow(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()),
                        &suppressed)) {
      return;
    }
  }
  static const char* const kLevels[] = {"INFO", "WARNING", "ERROR", "FATAL"};
  const int index = std::clamp(static_cast<int>(level), 0, 3);
  // The message may quote request bytes; keep it to one short line.
  std::string text = message.substr(0, 512);
  std::replace_if(
      text.begin(), text.end(),
      [](char c) { return static_cast<unsigned char>(c) < 0x20; }, ' ');
  Log(index >= 2 ? LogLevel::kError : LogLevel::kWarning,
      absl::StrCat("protobuf ", kLevels[index], " ", filename, ":", line, ": ",
                   text,
                   suppressed > 0 ? absl::StrCat(" (", suppressed,
                                                 " similar lines suppressed)")
                                  : std::string()));
}

}  // namespace

bool LogRateLimiter::Allow(double now_seconds, int64_t* suppressed) {
  if (last_ >= 0) {
    tokens_ = std::min<double>(
        kProtoLogBurst,
        tokens_ + (now_seconds - last_) / kProtoLogRefillSeconds);
  }
  last_ = now_seconds;
  if (tokens_ < 1) {
    ++dropped_;
    return false;
  }
  tokens_ -= 1;
  *suppressed = dropped_;
  dropped_ = 0;
  return true;
}

void InstallRateLimitedProtobufLog() {
  google::protobuf::SetLogHandler(&Handle);
}

}  // namespace tradecheck::server
