// ComplianceService handlers: unary, batch and bidi-stream checks, all
// forwarding to TradecheckCore::CheckDeclaration.
//
// The three methods are registered raw (grpc::ByteBuffer in and out) and
// parse the request themselves: gRPC 1.51's typed callback handlers answer a
// request that does not parse with UNIMPLEMENTED before any handler runs,
// and a typed stream cannot tell an unreadable message from the client
// half-closing. Parsing here lets an unreadable request get
// INVALID_ARGUMENT, and an unreadable stream message end the stream with an
// error that says how many results were sent.
#include <grpc/slice.h>

#include <deque>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/response_bytes.h"
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

// `buffer` parsed as a T, or INVALID_ARGUMENT naming what was expected.
template <typename T>
absl::StatusOr<T> ParseRequest(const grpc::ByteBuffer& buffer) {
  grpc::ByteBuffer copy(buffer);  // shares the slices; Deserialize consumes
  T message;
  grpc::Status parsed =
      grpc::SerializationTraits<T>::Deserialize(&copy, &message);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the request is not a readable ", T::descriptor()->full_name(),
        " (malformed protobuf, invalid UTF-8 in a string, or nesting too "
        "deep)"));
  }
  return message;
}

// `message` in one slice of exactly its size, sized once and written once:
// gRPC's generic serializer sizes a message larger than an inlined slice
// twice (once itself, once inside protobuf's stream writer), and a verdict
// holds hundreds of strings to walk.
template <typename T>
grpc::ByteBuffer Serialize(const T& message) {
  const size_t size = message.ByteSizeLong();
  grpc_slice slice = grpc_slice_malloc(size);
  message.SerializeWithCachedSizesToArray(GRPC_SLICE_START_PTR(slice));
  grpc::Slice owned(slice, grpc::Slice::STEAL_REF);
  return grpc::ByteBuffer(&owned, 1);
}

// Wire bytes made elsewhere, sent as they are, in one slice.
grpc::ByteBuffer BufferOf(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// FinishUnary for a raw method answered with its wire bytes
// (TradecheckCore::CheckDeclarationWire).
Callback<std::string> FinishWire(grpc::ServerUnaryReactor* reactor,
                                 grpc::ByteBuffer* response) {
  return [reactor, response](absl::StatusOr<std::string> bytes) {
    if (bytes.ok()) *response = BufferOf(*bytes);
    reactor->Finish(ToGrpcStatus(bytes.status()));
  };
}

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

// The bulk stream. Contract (compliance_service.proto): every readable
// request gets exactly one result; the stream ends OK only after the client
// half-closed and every result was written. A message that does not parse
// ends the stream: no further message is read, the checks already started
// finish and their results are written, then the status is
// INVALID_ARGUMENT saying which message was unreadable and how many results
// were sent, so the client knows exactly what to resend.
class StreamCheckReactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  StreamCheckReactor(TradecheckCore* core, Caller caller)
      : core_(core), caller_(std::move(caller)) {
    // A caller that may make no check at all ends the stream at once.
    if (absl::Status allowed = core_->AuthorizeAnyCheck(caller_);
        !allowed.ok()) {
      Finish(ToGrpcStatus(allowed));
      return;
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    absl::StatusOr<v1::CheckDeclarationRequest> request;
    if (ok) {
      request = ParseRequest<v1::CheckDeclarationRequest>(request_);
      request_.Clear();
    }
    if (!ok || !request.ok()) {
      bool finish;
      {
        absl::MutexLock lock(&mu_);
        reads_done_ = true;
        if (!ok) {
          // The client half-closed (or went away: then nothing is written
          // and the status is not delivered anyway).
        } else {
          unreadable_index_ = next_index_;
        }
        finish = ShouldFinishLocked();
      }
      if (finish) FinishStream();
      return;
    }
    uint64_t index;
    {
      absl::MutexLock lock(&mu_);
      index = next_index_++;
      ++in_flight_;
    }
    std::string id = request->declaration().declaration_id();
    core_->CheckDeclarationWire(
        caller_, *request, [this, index, id](absl::StatusOr<std::string> r) {
          // The answer's bytes as the core made them from the record.
          grpc::ByteBuffer result =
              r.ok() ? BufferOf(CheckResultWithResponse(index, id, *r))
                     : Serialize(ToResult(index, id, r.status()));
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
          if (finish) FinishStream();
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
    if (finish) FinishStream();
  }

  void OnWriteDone(bool ok) override {
    bool finish;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (ok) {
        ++results_sent_;
      } else {
        // The client went away; finish the checks already started (their
        // records are made) but stop writing.
        broken_ = true;
        pending_.clear();
      }
      MaybeWriteLocked();
      MaybeResumeReadLocked();
      finish = ShouldFinishLocked();
    }
    if (finish) FinishStream();
  }

  void OnDone() override { delete this; }

 private:
  // Called exactly once, outside the lock, when ShouldFinishLocked said so.
  void FinishStream() {
    grpc::Status status = grpc::Status::OK;
    {
      absl::MutexLock lock(&mu_);
      if (unreadable_index_.has_value()) {
        status = ToGrpcStatus(WithErrorInfo(
            absl::InvalidArgumentError(absl::StrCat(
                "stream message ", *unreadable_index_,
                " (counting from 0) is not a readable "
                "tradecheck.v1.CheckDeclarationRequest; the stream ends "
                "there: ",
                *unreadable_index_, " requests were read and ", results_sent_,
                " results were sent; resend from message ",
                *unreadable_index_)),
            "STREAM_MESSAGE_UNREADABLE",
            {{"unreadable_index", absl::StrCat(*unreadable_index_)},
             {"results_sent", absl::StrCat(results_sent_)}}));
      }
    }
    Finish(status);
  }

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
    if (read_paused_ && !reads_done_ && Buffered() < kMaxStreamInFlight) {
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
  const Caller caller_;
  grpc::ByteBuffer request_;  // only touched by the read chain
  absl::Mutex mu_;
  uint64_t next_index_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t results_sent_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<uint64_t> unreadable_index_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<grpc::ByteBuffer> pending_ ABSL_GUARDED_BY(mu_);
  grpc::ByteBuffer current_ ABSL_GUARDED_BY(mu_);
};

using RawService = v1::ComplianceService::WithRawCallbackMethod_CheckDeclaration<
    v1::ComplianceService::WithRawCallbackMethod_CheckDeclarations<
        v1::ComplianceService::WithRawCallbackMethod_StreamCheckDeclarations<
            v1::ComplianceService::Service>>>;

class ComplianceServiceImpl final : public RawService {
 public:
  ComplianceServiceImpl(TradecheckCore* core, const CallerResolver* callers)
      : core_(core), callers_(callers) {}

  grpc::ServerUnaryReactor* CheckDeclaration(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw,
      grpc::ByteBuffer* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    auto request = ParseRequest<v1::CheckDeclarationRequest>(*raw);
    if (!request.ok()) {
      reactor->Finish(ToGrpcStatus(request.status()));
      return reactor;
    }
    core_->CheckDeclarationWire(callers_->Of(context), *request,
                                FinishWire(reactor, response));
    return reactor;
  }

  grpc::ServerUnaryReactor* CheckDeclarations(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* raw,
      grpc::ByteBuffer* raw_response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    const Caller caller = callers_->Of(context);
    if (absl::Status allowed = core_->AuthorizeAnyCheck(caller);
        !allowed.ok()) {
      reactor->Finish(ToGrpcStatus(allowed));
      return reactor;
    }
    auto parsed = ParseRequest<v1::CheckDeclarationsRequest>(*raw);
    if (!parsed.ok()) {
      reactor->Finish(ToGrpcStatus(parsed.status()));
      return reactor;
    }
    // Shared with the callbacks: the parsed batch and the response they
    // fill, until the last one serializes it.
    struct Batch {
      v1::CheckDeclarationsRequest request;
      v1::CheckDeclarationsResponse response;
      absl::Mutex mu;
      int remaining ABSL_GUARDED_BY(mu);
    };
    auto batch = std::make_shared<Batch>();
    batch->request = std::move(*parsed);
    const v1::CheckDeclarationsRequest* request = &batch->request;
    v1::CheckDeclarationsResponse* response = &batch->response;
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
    {
      absl::MutexLock lock(&batch->mu);
      batch->remaining = n;
    }
    for (int i = 0; i < n; ++i) {
      const v1::CheckDeclarationRequest& one = request->requests(i);
      std::string id = one.declaration().declaration_id();
      core_->CheckDeclaration(
          caller, one,
          [batch, reactor, raw_response, i, id](
              absl::StatusOr<v1::CheckDeclarationResponse> r) {
            *batch->response.mutable_results(i) =
                ToResult(i, id, std::move(r));
            bool last;
            {
              absl::MutexLock lock(&batch->mu);
              last = --batch->remaining == 0;
            }
            if (last) {
              *raw_response = Serialize(batch->response);
              reactor->Finish(grpc::Status::OK);
            }
          });
    }
    return reactor;
  }

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
  StreamCheckDeclarations(grpc::CallbackServerContext* context) override {
    return new StreamCheckReactor(core_, callers_->Of(context));
  }

 private:
  TradecheckCore* const core_;
  const CallerResolver* const callers_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewComplianceService(
    TradecheckCore* core, const CallerResolver* callers) {
  return std::make_unique<ComplianceServiceImpl>(core, callers);
}

}  // namespace tradecheck::server
