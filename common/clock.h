// Clock: the one way project code reads the time, so tests can use a
// simulated clock. The rule engine never reads a clock at all; it is given
// the governing date.
#ifndef TRADECHECK_COMMON_CLOCK_H_
#define TRADECHECK_COMMON_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tradecheck {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// Wall-clock time. Thread-safe.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  // A process-wide instance; never destroyed.
  static const RealClock* Get() {
    static const RealClock* clock = new RealClock;
    return clock;
  }
};

// A clock that only moves when told to. Thread-safe.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

// A clock that moves `step` at every reading, from `start`: each reader gets
// a distinct, later time. Thread-safe.
class SteppingClock final : public Clock {
 public:
  SteppingClock(absl::Time start, absl::Duration step)
      : start_(start), step_(step) {}
  absl::Time Now() const override {
    return start_ + step_ * readings_.fetch_add(1);
  }

 private:
  const absl::Time start_;
  const absl::Duration step_;
  mutable std::atomic<int64_t> readings_{0};
};

}  // namespace tradecheck

#endif  // TRADECHECK_COMMON_CLOCK_H_
