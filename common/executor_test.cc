#include "common/executor.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace tradecheck {
namespace {

TEST(ThreadPoolTest, RunsEverythingScheduledBeforeDestruction) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(2);
    for (int i = 0; i < 1000; ++i) pool.Schedule([&ran] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST(ThreadPoolTest, RunsWorkOffTheCallingThread) {
  ThreadPool pool(1);
  absl::Notification done;
  std::thread::id worker;
  pool.Schedule([&] {
    worker = std::this_thread::get_id();
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_NE(worker, std::this_thread::get_id());
}

}  // namespace
}  // namespace tradecheck
