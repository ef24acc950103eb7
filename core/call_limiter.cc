#include "core/call_limiter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/errors.h"

namespace tradecheck {

std::shared_ptr<CallLimiter> CallLimiter::Create(int limit) {
  return std::shared_ptr<CallLimiter>(new CallLimiter(std::max(1, limit)));
}

CallLimiter::Slot::~Slot() {
  if (limiter_ != nullptr) limiter_->Release();
}

std::optional<CallLimiter::Slot> CallLimiter::TryAcquire() {
  absl::MutexLock lock(&mu_);
  if (in_use_ >= limit_) return std::nullopt;
  ++in_use_;
  return Slot(shared_from_this());
}

void CallLimiter::Release() {
  absl::MutexLock lock(&mu_);
  --in_use_;
}

int CallLimiter::in_use() const {
  absl::MutexLock lock(&mu_);
  return in_use_;
}

absl::Status CallLimiter::Busy(absl::string_view what) const {
  return WithErrorInfo(
      absl::ResourceExhaustedError(absl::StrCat(
          what, ": ", limit_,
          " expensive call(s) (trail verification, backups) already running, "
          "the most this server runs at once so reads keep answering; retry "
          "in a few seconds")),
      "EXPENSIVE_CALLS_BUSY", {{"limit", absl::StrCat(limit_)}});
}

}  // namespace tradecheck
