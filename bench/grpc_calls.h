// The calls the server benchmarks drive, as load_driver.h `Issue` functions:
// connections, the do-nothing method (the standard health check) and a
// durable check with a new declaration each time. Shared by
// server_load_bench and latency_bench so both measure the same thing.
#ifndef TRADECHECK_BENCH_GRPC_CALLS_H_
#define TRADECHECK_BENCH_GRPC_CALLS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/load_driver.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tradecheck/v1/compliance_service.grpc.pb.h"

namespace tradecheck::bench {

using HealthStub = grpc::health::v1::Health::Stub;
using ComplianceStub = v1::ComplianceService::Stub;

// `count` channels to `address`, each its own TCP connection (distinct
// arguments and a local subchannel pool), so calls spread over connections
// as many customs clients would.
inline std::vector<std::shared_ptr<grpc::Channel>> OpenChannels(
    const std::string& address, int count,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("tradecheck.bench.channel", i);
    channels.push_back(grpc::CreateCustomChannel(address, credentials, args));
  }
  return channels;
}

template <typename Service>
std::vector<std::unique_ptr<typename Service::Stub>> StubsOn(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels) {
  std::vector<std::unique_ptr<typename Service::Stub>> stubs;
  for (const auto& channel : channels) stubs.push_back(Service::NewStub(channel));
  return stubs;
}

// Declarations for durable checks: `base` with a new id every time
// (`prefix` + a counter) and one of 1,000 exporters and 300 importers, so
// that index postings of one group commit share a block only where values
// really repeat, as on a customs day.
class DeclarationSource {
 public:
  DeclarationSource(v1::Declaration base, std::string prefix)
      : base_(std::move(base)), prefix_(std::move(prefix)) {}
  void Next(v1::Declaration* declaration) {
    const int64_t n = issued_++;
    *declaration = base_;
    declaration->set_declaration_id(absl::StrCat(prefix_, n));
    declaration->set_exporter_id(absl::StrCat("MY-EXP-", n % 1000));
    declaration->set_importer_id(absl::StrCat("US-IMP-", n % 300));
  }
  int64_t issued() const { return issued_.load(); }

 private:
  const v1::Declaration base_;
  const std::string prefix_;
  std::atomic<int64_t> issued_{0};
};

// The do-nothing method: call n goes to stubs[n % size].
inline Issue HealthCheckCalls(
    const std::vector<std::unique_ptr<HealthStub>>* stubs,
    std::chrono::seconds deadline) {
  return [stubs, deadline](int64_t n, std::function<void(bool)> done) {
    struct Call {
      grpc::ClientContext context;
      grpc::health::v1::HealthCheckRequest request;
      grpc::health::v1::HealthCheckResponse response;
    };
    auto call = std::make_shared<Call>();
    call->context.set_deadline(std::chrono::system_clock::now() + deadline);
    (*stubs)[n % stubs->size()]->async()->Check(
        &call->context, &call->request, &call->response,
        [call, done](grpc::Status s) { done(s.ok()); });
  };
}

// A full CheckDeclaration of the next declaration from `source`. It
// succeeds only with a verdict per line and, when `recorded`, the record's
// sequence number (the benchmark-only no-store server answers without one).
inline Issue DurableCheckCalls(
    const std::vector<std::unique_ptr<ComplianceStub>>* stubs,
    DeclarationSource* source, bool recorded, std::chrono::seconds deadline) {
  return [stubs, source, recorded, deadline](int64_t n,
                                             std::function<void(bool)> done) {
    struct Call {
      grpc::ClientContext context;
      v1::CheckDeclarationRequest request;
      v1::CheckDeclarationResponse response;
    };
    auto call = std::make_shared<Call>();
    call->context.set_deadline(std::chrono::system_clock::now() + deadline);
    source->Next(call->request.mutable_declaration());
    (*stubs)[n % stubs->size()]->async()->CheckDeclaration(
        &call->context, &call->request, &call->response,
        [call, done, recorded](grpc::Status s) {
          const v1::Verdict& verdict = call->response.verdict();
          done(s.ok() && verdict.lines_size() > 0 &&
               (!recorded || verdict.audit_sequence() > 0));
        });
  };
}

}  // namespace tradecheck::bench

#endif  // TRADECHECK_BENCH_GRPC_CALLS_H_
