// A bounded mixed soak against the real server (issue 10): valid binding
// checks and dry runs, invalid, oversized and unreadable requests, and
// streams cancelled half way, from several threads for SOAK_SECONDS
// (default 8). Shows that the server's RSS and the store's growth stay
// bounded: refused requests store nothing, every record stays within the
// documented per-declaration size, and RSS does not grow with the number
// of requests. Prints the figures.
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/server_process.h"

#if defined(__SANITIZE_ADDRESS__)
#define TC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TC_ASAN 1
#endif
#endif

namespace tradecheck::testing {
namespace {

// Under AddressSanitizer (the server in the same build directory is built
// with it too) freed memory waits in a quarantine of up to 256 MiB before
// reuse, so RSS legitimately grows by that much more.
#ifdef TC_ASAN
constexpr int64_t kRssSlackKb = (200 + 300) * 1024;
#else
constexpr int64_t kRssSlackKb = 200 * 1024;
#endif

int64_t RssKb(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

int64_t DirBytes(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

TEST(SoakE2eTest, MixedHostileLoadKeepsRssAndStoreBounded) {
  const char* env = std::getenv("SOAK_SECONDS");
  const absl::Duration duration = absl::Seconds(env ? std::atoi(env) : 8);
  TC_ASSERT_OK_AND_ASSIGN(auto server, ServerProcess::Start({}));
  auto channel = Connect(server->address());
  auto compliance = v1::ComplianceService::NewStub(channel);
  auto admin = v1::AdminService::NewStub(channel);

  // Warm up: the allocator's and RocksDB's steady state.
  for (int i = 0; i < 50; ++i) {
    v1::CheckDeclarationRequest request;
    *request.mutable_declaration() = PalmOilImport(absl::StrCat("SOAK-W-", i));
    v1::CheckDeclarationResponse response;
    ASSERT_TRUE(compliance->CheckDeclaration(Ctx().get(), request, &response).ok());
  }
  const int64_t rss_start = RssKb(server->pid());
  const int64_t store_start = DirBytes(server->data_dir());

  std::atomic<int64_t> valid{0}, refused{0}, oversized{0}, cancelled{0},
      unexpected{0};
  const absl::Time end = absl::Now() + duration;
  auto worker = [&](int w) {
    for (int64_t n = 0; absl::Now() < end; ++n) {
      const std::string id = absl::StrCat("SOAK-", w, "-", n);
      v1::CheckDeclarationRequest request;
      *request.mutable_declaration() = PalmOilImport(id);
      v1::CheckDeclarationResponse response;
      switch (n % 5) {
        case 0:
        case 1: {  // valid: binding, and a dry run
          request.set_validate_only(n % 5 == 1);
          auto s = compliance->CheckDeclaration(Ctx().get(), request, &response);
          (s.ok() ? valid : unexpected)++;
          break;
        }
        case 2: {  // invalid, with the largest values the limits allow
          auto* d = request.mutable_declaration();
          d->mutable_lines(0)->set_description(std::string(600, '\x1b'));
          d->set_origin_country(std::string(100000, 'Z'));
          d->mutable_lines(0)->mutable_customs_value()->set_currency_code("XXZ");
          auto s = compliance->CheckDeclaration(Ctx().get(), request, &response);
          (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? refused
                                                                : unexpected)++;
          break;
        }
        case 3: {  // oversized: refused before parsing
          request.mutable_declaration()->mutable_lines(0)->set_description(
              std::string(2 * 1024 * 1024 + 100, 'x'));
          auto s = compliance->CheckDeclaration(Ctx().get(), request, &response);
          (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ? oversized
                                                                  : unexpected)++;
          break;
        }
        case 4: {  // a stream cancelled after a few writes
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(20));
          auto stream = compliance->StreamCheckDeclarations(&context);
          for (int k = 0; k < 20; ++k) {
            v1::CheckDeclarationRequest one;
            *one.mutable_declaration() =
                PalmOilImport(absl::StrCat(id, "-s", k));
            one.set_validate_only(true);
            if (!stream->Write(one)) break;
          }
          context.TryCancel();
          stream->Finish();
          cancelled++;
          break;
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) threads.emplace_back(worker, w);
  for (auto& t : threads) t.join();

  v1::GetStoreStatsResponse stats;
  ASSERT_TRUE(admin->GetStoreStats(Ctx().get(), v1::GetStoreStatsRequest(),
                                   &stats)
                  .ok());
  const int64_t rss_end = RssKb(server->pid());
  const int64_t store_end = DirBytes(server->data_dir());
  std::printf(
      "soak %s: %lld valid, %lld invalid, %lld oversized refused, %lld "
      "streams cancelled, %lld unexpected; records written %llu; RSS %lld -> "
      "%lld kB; store %lld -> %lld bytes\n",
      absl::FormatDuration(duration).c_str(), (long long)valid.load(),
      (long long)refused.load(), (long long)oversized.load(),
      (long long)cancelled.load(), (long long)unexpected.load(),
      (unsigned long long)stats.records_written(), (long long)rss_start,
      (long long)rss_end, (long long)store_start, (long long)store_end);
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_GT(refused.load(), 0);
  EXPECT_GT(oversized.load(), 0);
  // Only valid checks and the cancelled streams' dry runs (at most 20
  // each) make records; refused requests make none.
  EXPECT_LE(stats.records_written(),
            static_cast<uint64_t>(50 + valid.load() + 20 * cancelled.load()));
  // Each record here is a small declaration and its verdict (under 8 KiB
  // with index entries); RocksDB adds its WAL and a fixed overhead.
  EXPECT_LE(store_end - store_start,
            static_cast<int64_t>(stats.records_written()) * 8192 +
                (64 << 20));
  // Megabytes of refused input did not stay in the server.
  EXPECT_LE(rss_end - rss_start, kRssSlackKb)
      << "RSS grew from " << rss_start << " to " << rss_end << " kB";
}

}  // namespace
}  // namespace tradecheck::testing
