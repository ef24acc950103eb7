#include "core/response_bytes.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"
#include "tradecheck/v1/audit_service.pb.h"
#include "tradecheck/v1/compliance_service.pb.h"
#include "tradecheck/v1/verdict.pb.h"

namespace tradecheck {
namespace {

using google::protobuf::internal::WireFormatLite;

// Where the top-level fields of `message` are: the payload of field
// `field` (length-delimited), and the offset of the first field whose
// number is above `before` (the message's end when none is). False when
// the bytes do not read as a message.
struct Layout {
  absl::string_view payload;
  bool found = false;
  size_t first_after = 0;
};
bool Read(absl::string_view message, int field, int before, Layout* out) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(message.data()),
      static_cast<int>(message.size()));
  out->first_after = message.size();
  bool after_seen = false;
  while (true) {
    const size_t start = static_cast<size_t>(in.CurrentPosition());
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return in.ConsumedEntireMessage();
    const int number = static_cast<int>(WireFormatLite::GetTagFieldNumber(tag));
    if (!after_seen && number > before) {
      out->first_after = start;
      after_seen = true;
    }
    if (number == field && WireFormatLite::GetTagWireType(tag) ==
                               WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t length = 0;
      if (!in.ReadVarint32(&length)) return false;
      const size_t offset = static_cast<size_t>(in.CurrentPosition());
      if (offset + length > message.size() || !in.Skip(length)) return false;
      out->payload = message.substr(offset, length);
      out->found = true;
      continue;
    }
    if (!WireFormatLite::SkipField(&in, tag)) return false;
  }
}

// The tag and length of field `number` holding `size` bytes (which follow).
void WriteHeader(google::protobuf::io::CodedOutputStream* out, int number,
                 size_t size) {
  out->WriteTag(WireFormatLite::MakeTag(
      number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
  out->WriteVarint32(static_cast<uint32_t>(size));
}

}  // namespace

absl::StatusOr<std::string> CheckResponseFromRecord(absl::string_view record,
                                                    absl::string_view record_hash,
                                                    bool replayed) {
  Layout decision;
  if (!Read(record, v1::Decision::kVerdictFieldNumber, 0, &decision) ||
      !decision.found) {
    return absl::InternalError("the audit record does not hold a verdict");
  }
  const absl::string_view verdict = decision.payload;
  Layout fields;
  if (!Read(verdict, 0, v1::Verdict::kRecordHashFieldNumber, &fields)) {
    return absl::InternalError("the audit record's verdict does not read");
  }
  // The verdict with its record hash: fields below record_hash, the hash
  // (a proto3 string is on the wire only when not empty), the rest.
  std::string hash_field;
  if (!record_hash.empty()) {
    google::protobuf::io::StringOutputStream stream(&hash_field);
    google::protobuf::io::CodedOutputStream out(&stream);
    WriteHeader(&out, v1::Verdict::kRecordHashFieldNumber, record_hash.size());
    out.WriteRaw(record_hash.data(), static_cast<int>(record_hash.size()));
  }
  const size_t verdict_size = verdict.size() + hash_field.size();
  std::string response;
  response.reserve(verdict_size + 16);
  {
    google::protobuf::io::StringOutputStream stream(&response);
    google::protobuf::io::CodedOutputStream out(&stream);
    WriteHeader(&out, v1::CheckDeclarationResponse::kVerdictFieldNumber,
                verdict_size);
    out.WriteRaw(verdict.data(), static_cast<int>(fields.first_after));
    out.WriteRaw(hash_field.data(), static_cast<int>(hash_field.size()));
    out.WriteRaw(verdict.data() + fields.first_after,
                 static_cast<int>(verdict.size() - fields.first_after));
    if (replayed) {
      out.WriteTag(WireFormatLite::MakeTag(
          v1::CheckDeclarationResponse::kReplayedFieldNumber,
          WireFormatLite::WIRETYPE_VARINT));
      out.WriteVarint32(1);
    }
  }
  return response;
}

std::string CheckResultWithResponse(uint64_t index,
                                    absl::string_view declaration_id,
                                    absl::string_view response) {
  v1::CheckResult head;
  head.set_index(index);
  head.set_declaration_id(std::string(declaration_id));
  std::string out;
  out.reserve(head.ByteSizeLong() + response.size() + 8);
  head.AppendToString(&out);
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    WriteHeader(&coded, v1::CheckResult::kResponseFieldNumber,
                response.size());
    coded.WriteRaw(response.data(), static_cast<int>(response.size()));
  }
  return out;
}

}  // namespace tradecheck
