// CallLimiter: a concurrency limit of its own for expensive calls
// (whole-trail verification, backups), so that a few of them cannot take
// every worker thread and starve the cheap reads queued behind them. A call
// that finds every slot taken is refused at once with RESOURCE_EXHAUSTED
// (the client retries later) instead of queueing on the workers.
//
//   std::optional<CallLimiter::Slot> slot = limiter->TryAcquire();
//   if (!slot) return limiter->Busy("VerifyTrail");
//   ... work, the slot moves into the worker and frees itself ...
//
// Thread-safe.
#ifndef TRADECHECK_CORE_CALL_LIMITER_H_
#define TRADECHECK_CORE_CALL_LIMITER_H_

#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace tradecheck {

class CallLimiter : public std::enable_shared_from_this<CallLimiter> {
 public:
  // At most `limit` (>= 1) slots held at once.
  static std::shared_ptr<CallLimiter> Create(int limit);

  // Holds one slot until destroyed. Movable, so it can ride in a lambda.
  class Slot {
   public:
    Slot(Slot&& other) noexcept : limiter_(std::move(other.limiter_)) {}
    Slot& operator=(Slot&&) = delete;
    ~Slot();

   private:
    friend class CallLimiter;
    explicit Slot(std::shared_ptr<CallLimiter> l) : limiter_(std::move(l)) {}
    std::shared_ptr<CallLimiter> limiter_;
  };

  // A slot, or nullopt when all are taken.
  std::optional<Slot> TryAcquire();
  // RESOURCE_EXHAUSTED naming `what` and the limit, with a
  // google.rpc.ErrorInfo (reason "EXPENSIVE_CALLS_BUSY", metadata "limit").
  absl::Status Busy(absl::string_view what) const;

  int limit() const { return limit_; }
  int in_use() const;

 private:
  explicit CallLimiter(int limit) : limit_(limit) {}
  void Release();

  const int limit_;
  mutable absl::Mutex mu_;
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tradecheck

#endif  // TRADECHECK_CORE_CALL_LIMITER_H_
