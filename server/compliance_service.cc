// ComplianceService handlers: unary, batch and bidi-stream checks, all
// forwarding to TradecheckCore::CheckDeclaration.
#include <deque>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/grpc_util.h"
#include "server/services.h"
#include "tradecheck/v1/compliance_service.grpc.pb.h"

namespace tradecheck::server {
namespace {

constexpr int kMaxBatch = 1000;
// Checks in flight plus results waiting to be written, per stream; reading
// pauses beyond it, so neither a fast producer nor a slow reader can make
// the server buffer without bound.
constexpr int kMaxStreamInFlight = 256;

// The caller identity recorded in the trail. Empty until authentication
// exists (a peer address is not an identity).
std::string CallerOf(const grpc::CallbackServerContext*) { return ""; }

v1::CheckResult ToResult(uint64_t index, const std::string& declaration_id,
                         absl::StatusOr<v1::CheckDeclarationResponse> r) {
  v1::CheckResult result;
  result.set_index(index);
  result.set_declaration_id(declaration_id);
  if (r.ok()) {
    *result.mutable_response() = std::move(*r);
  } else {
    *result.mutable_error() = ToRpcStatus(r.status());
  }
  return result;
}

class StreamCheckReactor final
    : public grpc::ServerBidiReactor<v1::CheckDeclarationRequest,
                                     v1::CheckResult> {
 public:
  StreamCheckReactor(TradecheckCore* core, std::string caller)
      : core_(core), caller_(std::move(caller)) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      bool finish;
      {
        absl::MutexLock lock(&mu_);
        reads_done_ = true;
        finish = ShouldFinishLocked();
      }
      if (finish) Finish(grpc::Status::OK);
      return;
    }
    uint64_t index;
    {
      absl::MutexLock lock(&mu_);
      index = next_index_++;
      ++in_flight_;
    }
    std::string id = request_.declaration().declaration_id();
    // CheckDeclaration copies what it keeps before returning, so request_
    // can be reused for the next read.
    core_->CheckDeclaration(
        request_, caller_,
        [this, index, id](absl::StatusOr<v1::CheckDeclarationResponse> r) {
          v1::CheckResult result = ToResult(index, id, std::move(r));
          bool finish;
          {
            absl::MutexLock lock(&mu_);
            --in_flight_;
            if (!broken_) pending_.push_back(std::move(result));
            MaybeWriteLocked();
            MaybeResumeReadLocked();
            finish = ShouldFinishLocked();
          }
          // Outside the lock and last: on this (non-gRPC) thread, Finish may
          // run OnDone, which deletes the reactor, before it returns.
          if (finish) Finish(grpc::Status::OK);
        });
    bool finish;
    {
      absl::MutexLock lock(&mu_);
      if (Buffered() >= kMaxStreamInFlight) {
        read_paused_ = true;
      } else {
        StartRead(&request_);
      }
      finish = ShouldFinishLocked();
    }
    if (finish) Finish(grpc::Status::OK);
  }

  void OnWriteDone(bool ok) override {
    bool finish;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) {
        // The client went away; finish the checks already started (their
        // records are made) but stop writing.
        broken_ = true;
        pending_.clear();
      }
      MaybeWriteLocked();
      MaybeResumeReadLocked();
      finish = ShouldFinishLocked();
    }
    if (finish) Finish(grpc::Status::OK);
  }

  void OnDone() override { delete this; }

 private:
  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || pending_.empty() || broken_) return;
    writing_ = true;
    current_ = std::move(pending_.front());
    pending_.pop_front();
    StartWrite(&current_);
  }

  // Checks started plus results not yet written: what a stream may hold.
  int Buffered() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_flight_ + static_cast<int>(pending_.size());
  }

  // Reading stays paused while the stream holds kMaxStreamInFlight checks
  // or results, whether the checks are slow or the client reads slowly.
  void MaybeResumeReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (read_paused_ && Buffered() < kMaxStreamInFlight) {
      read_paused_ = false;
      StartRead(&request_);
    }
  }

  // True exactly once, when everything is read, checked and written; the
  // caller then calls Finish outside the lock.
  bool ShouldFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || !reads_done_ || read_paused_ || in_flight_ > 0 ||
        writing_ || !pending_.empty()) {
      return false;
    }
    finished_ = true;
    return true;
  }

  TradecheckCore* const core_;
  const std::string caller_;
  v1::CheckDeclarationRequest request_;  // only touched by the read chain
  absl::Mutex mu_;
  uint64_t next_index_ ABSL_GUARDED_BY(mu_) = 0;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<v1::CheckResult> pending_ ABSL_GUARDED_BY(mu_);
  v1::CheckResult current_ ABSL_GUARDED_BY(mu_);
};

class ComplianceServiceImpl final
    : public v1::ComplianceService::CallbackService {
 public:
  explicit ComplianceServiceImpl(TradecheckCore* core) : core_(core) {}

  grpc::ServerUnaryReactor* CheckDeclaration(
      grpc::CallbackServerContext* context,
      const v1::CheckDeclarationRequest* request,
      v1::CheckDeclarationResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    core_->CheckDeclaration(*request, CallerOf(context),
                            FinishUnary(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* CheckDeclarations(
      grpc::CallbackServerContext* context,
      const v1::CheckDeclarationsRequest* request,
      v1::CheckDeclarationsResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    const int n = request->requests_size();
    if (n == 0 || n > kMaxBatch) {
      reactor->Finish(ToGrpcStatus(InvalidField(
          "requests", absl::StrCat("holds ", n, " declarations; a batch holds 1 to ",
                                   kMaxBatch))));
      return reactor;
    }
    // Every slot exists before any check starts, so callbacks on different
    // threads each write only their own element.
    for (int i = 0; i < n; ++i) response->add_results();
    struct Batch {
      absl::Mutex mu;
      int remaining ABSL_GUARDED_BY(mu);
    };
    auto batch = std::make_shared<Batch>();
    {
      absl::MutexLock lock(&batch->mu);
      batch->remaining = n;
    }
    for (int i = 0; i < n; ++i) {
      const v1::CheckDeclarationRequest& one = request->requests(i);
      std::string id = one.declaration().declaration_id();
      core_->CheckDeclaration(
          one, CallerOf(context),
          [batch, reactor, response, i, id](
              absl::StatusOr<v1::CheckDeclarationResponse> r) {
            *response->mutable_results(i) = ToResult(i, id, std::move(r));
            bool last;
            {
              absl::MutexLock lock(&batch->mu);
              last = --batch->remaining == 0;
            }
            if (last) reactor->Finish(grpc::Status::OK);
          });
    }
    return reactor;
  }

  grpc::ServerBidiReactor<v1::CheckDeclarationRequest, v1::CheckResult>*
  StreamCheckDeclarations(grpc::CallbackServerContext* context) override {
    return new StreamCheckReactor(core_, CallerOf(context));
  }

 private:
  TradecheckCore* const core_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewComplianceService(TradecheckCore* core) {
  return std::make_unique<ComplianceServiceImpl>(core);
}

}  // namespace tradecheck::server
