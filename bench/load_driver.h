// Load drivers shared by the server benchmarks: a closed loop (a fixed
// number of calls outstanding, the next sent when one ends) for the maximum
// rate, and an open loop (calls sent on a fixed schedule whatever the answers
// do) for latency under a given offered load. No gRPC here: a driver gets an
// `Issue` function that starts call number n and runs done(ok) at its end.
// Beside them, the fdatasync probe that gives a durable answer's floor.
//
// The open loop measures each latency from the call's *scheduled* send time,
// so a stall in the server or the client is charged to every call that
// should have been sent during it ("coordinated omission" avoided).
#ifndef TRADECHECK_BENCH_LOAD_DRIVER_H_
#define TRADECHECK_BENCH_LOAD_DRIVER_H_

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace tradecheck::bench {

using Issue = std::function<void(int64_t, std::function<void(bool)>)>;

// Keeps `in_flight` calls outstanding for `duration`; returns completed
// calls per second. Half a second of warm-up comes first and is not counted.
inline double Drive(int in_flight, absl::Duration duration, const Issue& issue,
                    int* failures) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> completed{0};
  std::atomic<int> failed{0};
  std::atomic<int> outstanding{0};
  absl::Notification drained;
  std::atomic<int64_t> next{0};
  std::function<void()> start_one;
  start_one = [&]() {
    ++outstanding;
    issue(next++, [&](bool ok) {
      if (ok) {
        ++completed;
      } else {
        ++failed;
      }
      if (!stop.load()) {
        start_one();
      }
      if (--outstanding == 0 && stop.load()) drained.Notify();
    });
  };
  for (int i = 0; i < in_flight; ++i) start_one();
  absl::SleepFor(absl::Milliseconds(500));
  const int64_t start_count = completed.load();
  const absl::Time start = absl::Now();
  absl::SleepFor(duration);
  const int64_t end_count = completed.load();
  const absl::Duration elapsed = absl::Now() - start;
  stop = true;
  drained.WaitForNotificationWithTimeout(absl::Seconds(30));
  *failures = failed.load();
  return static_cast<double>(end_count - start_count) /
         absl::ToDoubleSeconds(elapsed);
}

// Latency percentiles in microseconds over a set of samples (nanoseconds).
struct Percentiles {
  double p50 = 0, p99 = 0, p999 = 0;
  int64_t samples = 0;
};

inline Percentiles PercentilesOf(std::vector<int64_t> ns) {
  Percentiles p;
  p.samples = static_cast<int64_t>(ns.size());
  if (ns.empty()) return p;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(ns.size()));
    if (i >= ns.size()) i = ns.size() - 1;
    return static_cast<double>(ns[i]) / 1000.0;
  };
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  return p;
}

inline int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct OpenLoopResult {
  double offered_rps = 0;
  double achieved_rps = 0;  // completions per second over the schedule
  int failures = 0;
  // True when more than `max_outstanding` calls were pending: the load was
  // beyond what the server sustains, and sending stopped early.
  bool overloaded = false;
  Percentiles latency;  // from scheduled send time to completion
};

// Sends calls at `rate` per second for `duration`, on a fixed schedule that
// never waits for answers, and measures each call from its scheduled time.
// The first `warmup` of the schedule is sent but not counted.
inline OpenLoopResult OpenLoop(double rate, absl::Duration duration,
                               absl::Duration warmup, const Issue& issue,
                               int max_outstanding = 20000) {
  OpenLoopResult result;
  result.offered_rps = rate;
  const int64_t period_ns = static_cast<int64_t>(1e9 / rate);
  const int64_t total = static_cast<int64_t>(
      rate * absl::ToDoubleSeconds(duration + warmup));
  const int64_t skip = static_cast<int64_t>(rate * absl::ToDoubleSeconds(warmup));
  std::vector<int64_t> latency(total, -1);
  std::atomic<int64_t> outstanding{0};
  std::atomic<int> failed{0};
  std::atomic<int64_t> last_done{0};
  // Sleeps of tens of microseconds need a small timer slack.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  const int64_t t0 = SteadyNanos() + 1000000;
  int64_t sent = 0;
  for (; sent < total; ++sent) {
    const int64_t scheduled = t0 + sent * period_ns;
    const int64_t now = SteadyNanos();
    if (scheduled > now) {
      std::this_thread::sleep_for(std::chrono::nanoseconds(scheduled - now));
    }
    if (outstanding.load(std::memory_order_relaxed) >= max_outstanding) {
      result.overloaded = true;
      break;
    }
    outstanding.fetch_add(1, std::memory_order_relaxed);
    int64_t* slot = &latency[sent];
    issue(sent, [slot, scheduled, &outstanding, &failed, &last_done](bool ok) {
      const int64_t end = SteadyNanos();
      *slot = ok ? end - scheduled : -1;
      if (!ok) ++failed;
      int64_t seen = last_done.load(std::memory_order_relaxed);
      while (end > seen && !last_done.compare_exchange_weak(seen, end)) {
      }
      outstanding.fetch_sub(1, std::memory_order_release);
    });
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (outstanding.load(std::memory_order_acquire) > 0 &&
         absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  result.failures = failed.load();
  std::vector<int64_t> counted;
  counted.reserve(sent > skip ? sent - skip : 0);
  for (int64_t i = skip; i < sent; ++i) {
    if (latency[i] >= 0) counted.push_back(latency[i]);
  }
  const int64_t first = t0 + skip * period_ns;
  if (last_done.load() > first) {
    result.achieved_rps = static_cast<double>(counted.size()) /
                          (static_cast<double>(last_done.load() - first) / 1e9);
  }
  result.latency = PercentilesOf(std::move(counted));
  return result;
}

// One fdatasync of a freshly written 4 KiB block in `dir`, `n` times:
// what a synced WAL append costs on this disk.
inline Percentiles MeasureFsync(const std::string& dir, int n) {
  const std::string path = dir + "/fsync-probe";
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_APPEND, 0600);
  std::vector<int64_t> samples;
  if (fd < 0) return PercentilesOf(samples);
  std::string block(4096, 'x');
  for (int i = 0; i < n; ++i) {
    if (::write(fd, block.data(), block.size()) !=
        static_cast<ssize_t>(block.size())) {
      break;
    }
    const int64_t start = SteadyNanos();
    if (::fdatasync(fd) != 0) break;
    samples.push_back(SteadyNanos() - start);
  }
  ::close(fd);
  ::unlink(path.c_str());
  return PercentilesOf(std::move(samples));
}

// CPU (user + system) of a whole process so far, in microseconds, from its
// own kernel counters: /proc/<pid>/stat fields 14 and 15.
inline double ProcessCpuMicros(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return 0;
  char buffer[2048];
  const size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, f);
  std::fclose(f);
  buffer[n] = '\0';
  // The command name (field 2) may hold spaces: fields count from its ')'.
  const char* p = std::strrchr(buffer, ')');
  if (p == nullptr) return 0;
  unsigned long long utime = 0, stime = 0;
  if (std::sscanf(p + 2,
                  "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                  &utime, &stime) != 2) {
    return 0;
  }
  return static_cast<double>(utime + stime) * 1e6 /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU of the calling process (this bench, all threads), in microseconds.
inline double SelfCpuMicros() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto us = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec);
  };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

}  // namespace tradecheck::bench

#endif  // TRADECHECK_BENCH_LOAD_DRIVER_H_
