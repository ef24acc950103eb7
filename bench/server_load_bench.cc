// server_load_bench: drives a real tradecheck_server over loopback and
// prints durable checks per second next to a do-nothing method measured in
// the same run, as a ratio. The do-nothing method is the standard health
// check (grpc.health.v1.Health/Check): same server, same transport, no work.
//
//   build/bench/server_load_bench [--seconds=5] [--in_flight=1,16,64]
//   build/bench/server_load_bench --tls    # + durable checks over mutual TLS
//
// --tls also starts a second server with mutual TLS (certificates from
// deploy/make-dev-certs.sh, the customs role) and prints, per level, the
// durable check rate over TLS against the plaintext one measured in the same
// run, alternately, as a ratio.
//
// Each durable check is a full CheckDeclaration: validation, rule
// evaluation and an audit record group-committed with a synced WAL write,
// acknowledged only once durable. Every check has a new declaration id and
// one of 1,000 exporters and 300 importers.
#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tradecheck/v1/admin_service.grpc.pb.h"
#include "tests/e2e/e2e_util.h"
#include "tests/testing/server_process.h"
#include "bench/grpc_calls.h"
#include "bench/load_driver.h"

ABSL_FLAG(int, seconds, 5, "Measuring time per row and method.");
ABSL_FLAG(std::string, in_flight, "1,16,64", "Concurrency levels to measure.");
ABSL_FLAG(int, channels, 4, "Client connections (requests spread over them).");
ABSL_FLAG(std::string, methods, "noop,check",
          "Which methods to drive: both (the default, for the ratio), or one "
          "of them alone (for profiling the server).");
ABSL_FLAG(std::vector<std::string>, server_flags, {},
          "Extra flags for the server this bench starts, comma-separated "
          "(e.g. --sign_tree_heads=false; proof_bench compares heads on and "
          "off in one run).");
ABSL_FLAG(bool, tls, false,
          "Also measure durable checks over mutual TLS against plaintext.");
ABSL_FLAG(std::string, address, "",
          "Drive an already running server at this address (e.g. for "
          "profiling it) instead of starting one.");

namespace tradecheck::bench {
namespace {

using testing::Connect;
using testing::ReadFileOrEmpty;

// Starts a mutual-TLS server with development certificates and prints the
// durable check rate over TLS against plaintext (`plain`), per level.
template <typename CheckOn>
bool TlsRows(const Issue& plain, CheckOn check_on) {
  auto dir = testing::MakeTempDir("bench-tls");
  if (!dir.ok()) return false;
  const std::string certs = *dir + "/certs";
  const std::string make = std::string(TC_SOURCE_DIR) +
                           "/deploy/make-dev-certs.sh '" + certs +
                           "' 2>/dev/null";
  if (std::system(make.c_str()) != 0) {
    std::fprintf(stderr, "cannot make certificates: %s\n", make.c_str());
    return false;
  }
  testing::ServerProcessOptions options;
  options.extra_flags = {"--tls_cert=" + certs + "/server.crt",
                         "--tls_key=" + certs + "/server.key",
                         "--tls_client_ca=" + certs + "/ca.crt",
                         "--access_policy=" + certs + "/access-policy.textproto"};
  auto started = testing::ServerProcess::Start(options);
  if (!started.ok()) {
    std::fprintf(stderr, "cannot start TLS server: %s\n",
                 started.status().ToString().c_str());
    return false;
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFileOrEmpty(certs + "/ca.crt");
  ssl.pem_cert_chain = ReadFileOrEmpty(certs + "/customs.crt");
  ssl.pem_private_key = ReadFileOrEmpty(certs + "/customs.key");
  const auto stubs = StubsOn<v1::ComplianceService>(
      OpenChannels((*started)->address(), absl::GetFlag(FLAGS_channels),
                   grpc::SslCredentials(ssl)));
  const Issue tls = check_on(&stubs);
  const absl::Duration duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::printf("\nmutual TLS (customs certificate) vs plaintext, durable checks, "
              "two servers alike but for TLS\n");
  std::printf("%10s %18s %14s %8s\n", "in_flight", "plaintext rps",
              "mTLS rps", "ratio");
  for (absl::string_view level :
       absl::StrSplit(absl::GetFlag(FLAGS_in_flight), ',')) {
    int in_flight = 0;
    if (!absl::SimpleAtoi(level, &in_flight) || in_flight < 1) continue;
    int plain_failures = 0, tls_failures = 0;
    const double plain_rps = Drive(in_flight, duration, plain, &plain_failures);
    const double tls_rps = Drive(in_flight, duration, tls, &tls_failures);
    std::printf("%10d %18.0f %14.0f %8.2f%s\n", in_flight, plain_rps, tls_rps,
                tls_rps / plain_rps,
                (plain_failures + tls_failures) > 0 ? "  (failures!)" : "");
    std::fflush(stdout);
  }
  auto code = (*started)->Stop();
  return code.ok() && *code == 0;
}

int Main() {
  std::unique_ptr<testing::ServerProcess> server;
  std::string address = absl::GetFlag(FLAGS_address);
  if (address.empty()) {
    testing::ServerProcessOptions server_options;
    server_options.extra_flags = absl::GetFlag(FLAGS_server_flags);
    auto started = testing::ServerProcess::Start(server_options);
    if (!started.ok()) {
      std::fprintf(stderr, "cannot start server: %s\n",
                   started.status().ToString().c_str());
      return 1;
    }
    server = std::move(*started);
    address = server->address();
  }
  const int channel_count = absl::GetFlag(FLAGS_channels);
  const auto channels = OpenChannels(address, channel_count,
                                     grpc::InsecureChannelCredentials());
  const auto health = StubsOn<grpc::health::v1::Health>(channels);
  const auto compliance = StubsOn<v1::ComplianceService>(channels);
  // Ids unique to this run, so that driving a server that already holds an
  // earlier run's records measures new decisions, not idempotent replays.
  DeclarationSource declarations(
      testing::PalmOilImport("x"),
      absl::StrCat("BENCH-", absl::ToUnixMicros(absl::Now()), "-"));
  constexpr std::chrono::seconds kDeadline(30);
  const Issue noop = HealthCheckCalls(&health, kDeadline);
  const auto check_on =
      [&](const std::vector<std::unique_ptr<ComplianceStub>>* stubs) {
        return DurableCheckCalls(stubs, &declarations, true, kDeadline);
      };
  const Issue check = check_on(&compliance);

  const absl::Duration duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::printf("server_load_bench: %d channels, %d s per row, server %s\n",
              channel_count, absl::GetFlag(FLAGS_seconds), address.c_str());
  std::printf("%10s %16s %18s %8s\n", "in_flight", "do-nothing rps",
              "durable check rps", "ratio");
  for (absl::string_view level :
       absl::StrSplit(absl::GetFlag(FLAGS_in_flight), ',')) {
    int in_flight = 0;
    if (!absl::SimpleAtoi(level, &in_flight) || in_flight < 1) continue;
    int noop_failures = 0, check_failures = 0;
    const std::string methods = absl::GetFlag(FLAGS_methods);
    double base_rps = absl::StrContains(methods, "noop")
                          ? Drive(in_flight, duration, noop, &noop_failures)
                          : 0;
    double check_rps = absl::StrContains(methods, "check")
                           ? Drive(in_flight, duration, check, &check_failures)
                           : 0;
    std::printf("%10d %16.0f %18.0f %8.2f%s\n", in_flight, base_rps, check_rps,
                check_rps / base_rps,
                (noop_failures + check_failures) > 0 ? "  (failures!)" : "");
    std::fflush(stdout);
  }
  std::printf("durable records written: %lld\n",
              static_cast<long long>(declarations.issued()));
  {
    // The server's own view of group commit over the whole run.
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::GetStoreStatsResponse stats;
    grpc::Status status = v1::AdminService::NewStub(channels[0])->GetStoreStats(
        &context, v1::GetStoreStatsRequest(), &stats);
    if (status.ok() && stats.synced_writes() > 0) {
      std::printf("server: %llu records in %llu fsyncs, %.1f records per fsync\n",
                  static_cast<unsigned long long>(stats.records_written()),
                  static_cast<unsigned long long>(stats.synced_writes()),
                  static_cast<double>(stats.records_written()) /
                      stats.synced_writes());
    }
  }
  if (absl::GetFlag(FLAGS_tls) && server != nullptr) {
    if (!TlsRows(check_on(&compliance), check_on)) return 1;
  }
  if (server == nullptr) return 0;
  auto code = server->Stop();
  return code.ok() && *code == 0 ? 0 : 1;
}

}  // namespace
}  // namespace tradecheck::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return tradecheck::bench::Main();
}
