// ThreadPool: a fixed set of worker threads for blocking work (RocksDB
// reads, trail verification, checkpoints, rule reloads) that must not run
// on gRPC's callback threads. Schedule() never blocks; closures run in FIFO
// order. The destructor runs everything already scheduled, then joins.
#ifndef TRADECHECK_COMMON_EXECUTOR_H_
#define TRADECHECK_COMMON_EXECUTOR_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace tradecheck {

class ThreadPool {
 public:
  // REQUIRES: threads >= 1.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Schedule(std::function<void()> work);

 private:
  void WorkLoop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace tradecheck

#endif  // TRADECHECK_COMMON_EXECUTOR_H_
