#include "server/request_log.h"

#include <iterator>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_interceptor.h"
#include "server/logging.h"
#include "tradecheck/v1/compliance_service.grpc.pb.h"

namespace tradecheck::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr absl::string_view kCompliance = "/tradecheck.v1.ComplianceService/";

enum class Shape { kOther, kCheck, kBatch, kStream };

Shape ShapeOf(absl::string_view method) {
  if (!absl::ConsumePrefix(&method, kCompliance)) return Shape::kOther;
  if (method == "CheckDeclaration") return Shape::kCheck;
  if (method == "CheckDeclarations") return Shape::kBatch;
  if (method == "StreamCheckDeclarations") return Shape::kStream;
  return Shape::kOther;
}

bool PlausibleRequestId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (const char c : id) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != ':' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

std::string NewRequestId() {
  thread_local absl::BitGen bits;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(bits),
                         absl::Uniform<uint64_t>(bits));
}

// The bytes of `buffer` (not consumed), in one piece: a view of its slice
// when it is a single uncompressed one (as the raw handlers write every
// response), else of a copy of its slices made in `*copy`. `*slice` keeps
// the view's bytes alive.
absl::string_view BufferBytes(const grpc::ByteBuffer& buffer,
                              grpc::Slice* slice, std::string* copy) {
  if (buffer.TrySingleSlice(slice).ok()) {
    return absl::string_view(reinterpret_cast<const char*>(slice->begin()),
                             slice->size());
  }
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return absl::string_view();
  for (const grpc::Slice& s : slices) {
    copy->append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return *copy;
}

// The declaration_id of the request's (first) declaration, read straight
// from the wire format without parsing the declaration: a
// CheckDeclarationRequest holds `Declaration declaration = 1`, whose
// `declaration_id = 1`; a CheckDeclarationsRequest holds
// `repeated CheckDeclarationRequest requests = 1`. Empty when absent or
// unreadable (the handler reports a malformed request itself).
std::string FirstDeclarationId(const grpc::ByteBuffer& buffer, Shape shape) {
  grpc::Slice slice;
  std::string copy;
  // Descends into field 1 (length-delimited) `depth` times, then returns
  // field 1 as a string.
  absl::string_view view = BufferBytes(buffer, &slice, &copy);
  const int depth = shape == Shape::kBatch ? 2 : 1;
  for (int level = 0; level <= depth; ++level) {
    google::protobuf::io::CodedInputStream in(
        reinterpret_cast<const uint8_t*>(view.data()),
        static_cast<int>(view.size()));
    bool found = false;
    while (uint32_t tag = in.ReadTag()) {
      if (tag == ((1u << 3) | 2u)) {  // field 1, length-delimited
        uint32_t length = 0;
        if (!in.ReadVarint32(&length) || length > 1024 * 1024 * 4) return "";
        const int offset = in.CurrentPosition();
        if (static_cast<size_t>(offset) + length > view.size()) return "";
        view = view.substr(offset, length);
        found = true;
        break;
      }
      if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) {
        return "";
      }
    }
    if (!found) return "";
  }
  // An id is at most 128 characters (declaration.proto); anything longer or
  // not printable is not logged as one.
  if (view.size() > 128) return "";
  for (const char c : view) {
    if (!absl::ascii_isgraph(c)) return "";
  }
  return std::string(view);
}

// Calls on_bytes(number, bytes) for each length-delimited field and
// on_varint(number, value) for each varint field of the message `bytes`,
// skipping the others; false when the bytes are not a message.
template <typename OnBytes, typename OnVarint>
bool ForEachField(absl::string_view bytes, OnBytes on_bytes,
                  OnVarint on_varint) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  while (uint32_t tag = in.ReadTag()) {
    const int number = WireFormatLite::GetTagFieldNumber(tag);
    switch (WireFormatLite::GetTagWireType(tag)) {
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        uint32_t length = 0;
        if (!in.ReadVarint32(&length)) return false;
        const int offset = in.CurrentPosition();
        if (static_cast<size_t>(offset) + length > bytes.size()) return false;
        if (!on_bytes(number, bytes.substr(offset, length))) return false;
        if (!in.Skip(static_cast<int>(length))) return false;
        break;
      }
      case WireFormatLite::WIRETYPE_VARINT: {
        uint64_t value = 0;
        if (!in.ReadVarint64(&value)) return false;
        on_varint(number, value);
        break;
      }
      default:
        if (!WireFormatLite::SkipField(&in, tag)) return false;
    }
  }
  return in.ConsumedEntireMessage();
}

// Calls fn(bytes) for each length-delimited field `number` of `message`.
template <typename Fn>
bool ForEachOf(absl::string_view message, int number, Fn fn) {
  return ForEachField(
      message,
      [&](int n, absl::string_view value) { return n != number || fn(value); },
      [](int, uint64_t) {});
}

// Adds the serialized Verdict's outcome and the rule id of each of its
// findings (declaration and line level) to `record`, reading the wire
// format: parsing the whole verdict, citations and messages included, only
// to count them cost about a tenth of the server's CPU per check.
bool CountVerdict(absl::string_view verdict, RpcRecord* record) {
  auto count_finding = [record](absl::string_view finding) {
    return ForEachOf(finding, v1::Finding::kRuleIdFieldNumber,
                     [record](absl::string_view rule_id) {
                       ++record->rule_hits[std::string(rule_id)];
                       return true;
                     });
  };
  int outcome = v1::OUTCOME_UNSPECIFIED;
  const bool ok = ForEachField(
      verdict,
      [&](int number, absl::string_view value) {
        if (number == v1::Verdict::kFindingsFieldNumber) {
          return count_finding(value);
        }
        return number != v1::Verdict::kLinesFieldNumber ||
               ForEachOf(value, v1::LineVerdict::kFindingsFieldNumber,
                         count_finding);
      },
      [&outcome](int number, uint64_t value) {
        if (number == v1::Verdict::kOutcomeFieldNumber) {
          outcome = static_cast<int>(value);
        }
      });
  if (!ok) return false;
  absl::string_view name =
      v1::Outcome_IsValid(outcome)
          ? v1::Outcome_Name(static_cast<v1::Outcome>(outcome))
          : absl::string_view();
  absl::ConsumePrefix(&name, "OUTCOME_");
  ++record->outcomes[std::string(name)];
  return true;
}

// Counts the verdict of a serialized CheckDeclarationResponse, if any.
bool CountResponse(absl::string_view response, RpcRecord* record) {
  return ForEachOf(response, v1::CheckDeclarationResponse::kVerdictFieldNumber,
                   [record](absl::string_view verdict) {
                     return CountVerdict(verdict, record);
                   });
}

// Counts the verdict of a serialized CheckResult, if it has a response.
bool CountResult(absl::string_view result, RpcRecord* record) {
  return ForEachOf(result, v1::CheckResult::kResponseFieldNumber,
                   [record](absl::string_view response) {
                     return CountResponse(response, record);
                   });
}

class RequestLogInterceptor final : public grpc::experimental::Interceptor {
 public:
  RequestLogInterceptor(grpc::experimental::ServerRpcInfo* info,
                        const CallerResolver* callers,
                        const std::function<void(const RpcRecord&)>* on_done)
      : shape_(ShapeOf(info->method())),
        on_done_(on_done),
        start_(absl::Now()) {
    record_.method = info->method();
    const Caller caller = callers->Of(info->server_context());
    record_.caller = caller.identity;
    absl::string_view role = v1::CallerRole_Name(caller.role);
    absl::ConsumePrefix(&role, "CALLER_ROLE_");
    record_.role = std::string(role);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      const auto* metadata = methods->GetRecvInitialMetadata();
      if (metadata != nullptr) {
        auto found = metadata->find(kRequestIdHeader);
        if (found != metadata->end()) {
          const absl::string_view id(found->second.data(), found->second.size());
          if (PlausibleRequestId(id)) record_.request_id = std::string(id);
        }
      }
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE) &&
        shape_ != Shape::kOther && record_.declaration_id.empty()) {
      // The compliance methods are registered raw (compliance_service.cc):
      // the message is the request's bytes.
      const auto* buffer =
          static_cast<const grpc::ByteBuffer*>(methods->GetRecvMessage());
      if (buffer != nullptr) {
        record_.declaration_id = FirstDeclarationId(*buffer, shape_);
      }
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      if (record_.request_id.empty()) record_.request_id = NewRequestId();
      auto* metadata = methods->GetSendInitialMetadata();
      if (metadata != nullptr) {
        metadata->emplace(kRequestIdHeader, record_.request_id);
      }
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_MESSAGE) &&
        shape_ != Shape::kOther) {
      CountResponse(methods->GetSerializedSendMessage());
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      record_.status_code = methods->GetSendStatus().error_code();
      record_.seconds = absl::ToDoubleSeconds(absl::Now() - start_);
      if (record_.request_id.empty()) record_.request_id = NewRequestId();
      LogFields(record_.status_code == grpc::StatusCode::INTERNAL ||
                        record_.status_code == grpc::StatusCode::DATA_LOSS ||
                        record_.status_code == grpc::StatusCode::UNKNOWN
                    ? LogLevel::kError
                    : LogLevel::kInfo,
                RequestLogFields(record_));
      if (*on_done_) (*on_done_)(record_);
    }
    methods->Proceed();
  }

 private:
  // The response's bytes (raw methods), read for outcomes and rule ids.
  void CountResponse(const grpc::ByteBuffer* buffer) {
    if (buffer == nullptr) return;
    grpc::Slice slice;
    std::string copy;
    const absl::string_view bytes = BufferBytes(*buffer, &slice, &copy);
    switch (shape_) {
      case Shape::kCheck:
        server::CountResponse(bytes, &record_);
        break;
      case Shape::kBatch:
        ForEachOf(bytes, v1::CheckDeclarationsResponse::kResultsFieldNumber,
                  [this](absl::string_view result) {
                    return CountResult(result, &record_);
                  });
        break;
      case Shape::kStream:
        CountResult(bytes, &record_);
        break;
      case Shape::kOther:
        break;
    }
  }

  const Shape shape_;
  const std::function<void(const RpcRecord&)>* const on_done_;
  const absl::Time start_;
  RpcRecord record_;
};

class RequestLogFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  RequestLogFactory(const CallerResolver* callers,
                    std::function<void(const RpcRecord&)> on_done)
      : callers_(callers), on_done_(std::move(on_done)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RequestLogInterceptor(info, callers_, &on_done_);
  }

 private:
  const CallerResolver* const callers_;
  const std::function<void(const RpcRecord&)> on_done_;
};

std::string JsonCounts(const std::map<std::string, int64_t>& counts) {
  std::string out = "{";
  for (const auto& [name, count] : counts) {
    absl::StrAppend(&out, out.size() > 1 ? "," : "", JsonQuote(name), ":", count);
  }
  return out + "}";
}

}  // namespace

const char* StatusCodeName(int code) {
  static const char* const kNames[] = {
      "OK",                 "CANCELLED",         "UNKNOWN",
      "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS",     "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION", "ABORTED",          "OUT_OF_RANGE",
      "UNIMPLEMENTED",      "INTERNAL",          "UNAVAILABLE",
      "DATA_LOSS",          "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int>(std::size(kNames))) return "UNKNOWN";
  return kNames[code];
}

std::string RequestLogFields(const RpcRecord& record) {
  std::string out = absl::StrCat(
      "\"request_id\":", JsonQuote(record.request_id),
      ",\"method\":", JsonQuote(record.method),
      ",\"caller\":", JsonQuote(record.caller),
      ",\"role\":", JsonQuote(record.role));
  if (!record.declaration_id.empty()) {
    absl::StrAppend(&out, ",\"declaration_id\":", JsonQuote(record.declaration_id));
  }
  int64_t verdicts = 0;
  for (const auto& [outcome, count] : record.outcomes) verdicts += count;
  if (verdicts == 1) {
    absl::StrAppend(&out, ",\"outcome\":", JsonQuote(record.outcomes.begin()->first));
  } else if (verdicts > 1) {
    absl::StrAppend(&out, ",\"verdicts\":", verdicts,
                    ",\"outcomes\":", JsonCounts(record.outcomes));
  }
  if (verdicts > 0) {
    std::string rules = "[";
    for (const auto& [rule, count] : record.rule_hits) {
      absl::StrAppend(&rules, rules.size() > 1 ? "," : "", JsonQuote(rule));
    }
    absl::StrAppend(&out, ",\"rules\":", rules, "]");
  }
  absl::StrAppend(&out, ",\"duration_ms\":",
                  absl::StrFormat("%.3f", record.seconds * 1000),
                  ",\"status\":", JsonQuote(StatusCodeName(record.status_code)));
  return out;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewRequestLogFactory(const CallerResolver* callers,
                     std::function<void(const RpcRecord&)> on_done) {
  return std::make_unique<RequestLogFactory>(callers, std::move(on_done));
}

}  // namespace tradecheck::server
