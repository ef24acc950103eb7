#include "storage/keys.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/tree_head.h"

namespace tradecheck::storage::keys {
namespace {

constexpr uint64_t kSignBit = uint64_t{1} << 63;

void AppendBigEndian32(uint32_t v, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

void AppendLengthPrefixed(absl::string_view value, std::string* out) {
  AppendBigEndian32(static_cast<uint32_t>(value.size()), out);
  out->append(value.data(), value.size());
}

absl::StatusOr<v1::TrailStream> StreamFromByte(uint8_t b) {
  if (b == StreamByte(v1::TRAIL_STREAM_BINDING))
    return v1::TRAIL_STREAM_BINDING;
  if (b == StreamByte(v1::TRAIL_STREAM_VALIDATE_ONLY)) {
    return v1::TRAIL_STREAM_VALIDATE_ONLY;
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("unknown stream byte %d", b));
}

}  // namespace

uint8_t StreamByte(v1::TrailStream stream) {
  return stream == v1::TRAIL_STREAM_VALIDATE_ONLY ? 'v' : 'b';
}

void AppendBigEndian64(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

uint64_t ReadBigEndian64(absl::string_view bytes) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  return v;
}

std::string RecordKey(v1::TrailStream stream, uint64_t sequence) {
  std::string key(1, static_cast<char>(StreamByte(stream)));
  AppendBigEndian64(sequence, &key);
  return key;
}

std::string TreeNodeKey(v1::TrailStream stream, int level, uint64_t index) {
  std::string key(1, static_cast<char>(StreamByte(stream)));
  key.push_back(static_cast<char>(level));
  AppendBigEndian64(index, &key);
  return key;
}

std::string TreeHeadKey(v1::TrailStream stream, uint64_t tree_size) {
  return RecordKey(stream, tree_size);
}

absl::StatusOr<StreamSeq> ParseRecordKey(absl::string_view key) {
  if (key.size() != 9) {
    return absl::InvalidArgumentError(
        absl::StrCat("record key has ", key.size(), " bytes, want 9"));
  }
  StreamSeq out;
  auto stream = StreamFromByte(static_cast<uint8_t>(key[0]));
  if (!stream.ok()) return stream.status();
  out.stream = *stream;
  out.sequence = ReadBigEndian64(key.substr(1));
  return out;
}

std::string DecisionId(v1::TrailStream stream, uint64_t sequence) {
  return absl::StrFormat("%c-%012d", StreamByte(stream), sequence);
}

std::string DecisionId(v1::TrailStream stream, uint64_t sequence,
                       uint64_t epoch) {
  if (epoch <= 1) return DecisionId(stream, sequence);
  return absl::StrFormat("%c-%012d-e%d", StreamByte(stream), sequence, epoch);
}

absl::StatusOr<StreamSeq> ParseDecisionId(absl::string_view decision_id) {
  auto bad = [&] {
    return absl::NotFoundError(
        absl::StrCat("no decision with id \"", decision_id, "\""));
  };
  if (decision_id.size() < 3 || decision_id[1] != '-') return bad();
  auto stream = StreamFromByte(static_cast<uint8_t>(decision_id[0]));
  if (!stream.ok()) return bad();
  absl::string_view digits = decision_id.substr(2);
  absl::string_view epoch_digits;
  if (size_t e = digits.find("-e"); e != absl::string_view::npos) {
    epoch_digits = digits.substr(e + 2);
    digits = digits.substr(0, e);
    if (epoch_digits.empty()) return bad();
  }
  for (absl::string_view part : {digits, epoch_digits}) {
    for (char c : part) {
      if (c < '0' || c > '9') return bad();
    }
  }
  StreamSeq out;
  out.stream = *stream;
  if (!absl::SimpleAtoi(digits, &out.sequence) || out.sequence == 0) {
    return bad();
  }
  if (!epoch_digits.empty() && !absl::SimpleAtoi(epoch_digits, &out.epoch)) {
    return bad();
  }
  // Only the canonical spelling names a decision ("b-1", "...-e1" do not).
  if (DecisionId(out.stream, out.sequence, out.epoch) != decision_id) {
    return bad();
  }
  return out;
}

std::string RetroactiveImpactKey(uint64_t number) {
  std::string key = kMetaRetroactiveImpactPrefix;
  AppendBigEndian64(number, &key);
  return key;
}

std::string RetroactiveImpactId(uint64_t number) { return ImpactId(number); }

absl::StatusOr<uint64_t> ParseRetroactiveImpactId(absl::string_view id) {
  return ParseImpactId(id);
}

std::string PostingPrefix(Field field, v1::TrailStream stream,
                          absl::string_view value) {
  std::string prefix;
  prefix.push_back(static_cast<char>(field));
  prefix.push_back(static_cast<char>(StreamByte(stream)));
  AppendLengthPrefixed(value, &prefix);
  return prefix;
}

std::string PostingKey(absl::string_view prefix, uint64_t sequence) {
  std::string key(prefix);
  AppendBigEndian64(~sequence, &key);
  return key;
}

absl::StatusOr<uint64_t> ParsePostingSequence(absl::string_view prefix,
                                              absl::string_view key) {
  if (key.size() != prefix.size() + 8 ||
      key.substr(0, prefix.size()) != prefix) {
    return absl::InvalidArgumentError("posting key does not match its prefix");
  }
  return ~ReadBigEndian64(key.substr(prefix.size()));
}

std::string EncodePostingBlock(const std::vector<uint64_t>& sequences) {
  std::string out;
  const uint64_t smallest = sequences.front();
  for (auto it = sequences.rbegin(); it != sequences.rend(); ++it) {
    uint64_t delta = *it - smallest;
    while (delta >= 0x80) {
      out.push_back(static_cast<char>((delta & 0x7f) | 0x80));
      delta >>= 7;
    }
    out.push_back(static_cast<char>(delta));
  }
  return out;
}

absl::StatusOr<std::vector<uint64_t>> DecodePostingBlock(
    uint64_t smallest, absl::string_view value) {
  std::vector<uint64_t> out;
  if (value.empty()) {
    out.push_back(smallest);
    return out;
  }
  size_t pos = 0;
  while (pos < value.size()) {
    uint64_t delta = 0;
    int shift = 0;
    while (true) {
      if (pos >= value.size() || shift > 63) {
        return absl::DataLossError("malformed posting block: bad varint");
      }
      const uint8_t byte = static_cast<uint8_t>(value[pos++]);
      if (shift == 63 && byte > 1) {
        return absl::DataLossError("malformed posting block: varint overflow");
      }
      delta |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) break;
      shift += 7;
    }
    if (delta > ~smallest) {
      return absl::DataLossError("malformed posting block: sequence overflow");
    }
    const uint64_t sequence = smallest + delta;
    if (!out.empty() && sequence >= out.back()) {
      return absl::DataLossError("malformed posting block: not newest first");
    }
    out.push_back(sequence);
  }
  if (out.back() != smallest) {
    return absl::DataLossError(
        "malformed posting block: does not end at its key's sequence");
  }
  return out;
}

std::string OutcomeValue(v1::Outcome outcome) {
  std::string value;
  AppendBigEndian32(static_cast<uint32_t>(outcome), &value);
  return value;
}

std::string CallerRoleValue(v1::CallerRole role) {
  std::string value;
  AppendBigEndian32(static_cast<uint32_t>(role), &value);
  return value;
}

std::string GoverningDayValue(const v1::Date& date) {
  return absl::StrFormat("%04d%02d%02d", date.year(), date.month(),
                         date.day());
}

std::string TimeKey(v1::TrailStream stream, absl::Time recorded_at,
                    uint64_t sequence) {
  std::string key(1, static_cast<char>(StreamByte(stream)));
  AppendBigEndian64(
      static_cast<uint64_t>(absl::ToUnixNanos(recorded_at)) ^ kSignBit, &key);
  AppendBigEndian64(sequence, &key);
  return key;
}

absl::StatusOr<TimeSeq> ParseTimeKey(v1::TrailStream stream,
                                     absl::string_view key) {
  if (key.size() != 17 || static_cast<uint8_t>(key[0]) != StreamByte(stream)) {
    return absl::InvalidArgumentError("malformed time key");
  }
  TimeSeq out;
  out.recorded_at = absl::FromUnixNanos(
      static_cast<int64_t>(ReadBigEndian64(key.substr(1)) ^ kSignBit));
  out.sequence = ReadBigEndian64(key.substr(9));
  return out;
}

std::string EncodeDeclarationEntry(const DeclarationEntry& entry) {
  std::string value;
  AppendBigEndian64(entry.sequence, &value);
  value.append(entry.digest);
  return value;
}

absl::StatusOr<DeclarationEntry> DecodeDeclarationEntry(
    absl::string_view value) {
  if (value.size() != 8 + 32) {
    return absl::DataLossError(absl::StrCat("declaration entry has ",
                                            value.size(), " bytes, want 40"));
  }
  DeclarationEntry entry;
  entry.sequence = ReadBigEndian64(value);
  entry.digest = std::string(value.substr(8));
  return entry;
}

std::string EncodeQuotaConsumed(int64_t consumed_milli) {
  std::string value;
  AppendBigEndian64(static_cast<uint64_t>(consumed_milli), &value);
  return value;
}

absl::StatusOr<int64_t> DecodeQuotaConsumed(absl::string_view value) {
  if (value.size() != 8) {
    return absl::DataLossError(
        absl::StrCat("quota balance has ", value.size(), " bytes, want 8"));
  }
  return static_cast<int64_t>(ReadBigEndian64(value));
}

std::string RuleSetPrefix(absl::string_view revision) {
  std::string prefix;
  AppendLengthPrefixed(revision, &prefix);
  return prefix;
}

std::string RuleSetFileKey(absl::string_view revision,
                           absl::string_view file_name) {
  return absl::StrCat(RuleSetPrefix(revision), file_name);
}

}  // namespace tradecheck::storage::keys
