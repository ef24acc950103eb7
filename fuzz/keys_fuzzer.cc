// libFuzzer target: the store's key and value codec (storage/keys.h). Every
// parser must reject arbitrary bytes cleanly (they are read back from disk,
// where tampering is possible), and what the encoders write must parse back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/keys.h"

namespace keys = tradecheck::storage::keys;
using tradecheck::v1::TrailStream;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (TrailStream stream :
       {tradecheck::v1::TRAIL_STREAM_BINDING,
        tradecheck::v1::TRAIL_STREAM_VALIDATE_ONLY}) {
    keys::ParseTimeKey(stream, bytes).IgnoreError();
    const std::string prefix =
        keys::PostingPrefix(keys::Field::kExporter, stream, "EXP");
    keys::ParsePostingSequence(prefix, bytes).IgnoreError();
  }
  keys::ParseRecordKey(bytes).IgnoreError();
  keys::ParseDecisionId(bytes).IgnoreError();
  keys::DecodeDeclarationEntry(bytes).IgnoreError();
  keys::DecodeQuotaConsumed(bytes).IgnoreError();
  uint64_t smallest = 0;
  for (size_t i = 0; i < size && i < 8; ++i) smallest = (smallest << 8) | data[i];
  keys::DecodePostingBlock(smallest, bytes).IgnoreError();

  // Round trips of what the encoders write.
  if (size >= 8) {
    const uint64_t sequence = smallest;
    auto record = keys::ParseRecordKey(
        keys::RecordKey(tradecheck::v1::TRAIL_STREAM_BINDING, sequence));
    if (!record.ok()) __builtin_trap();
    std::vector<uint64_t> sequences;
    uint64_t next = sequence;
    for (size_t i = 8; i < size && i < 64; ++i) {
      const uint64_t step = data[i] + 1;
      if (next > UINT64_MAX - step) break;
      next += step;
      sequences.push_back(next);
    }
    if (!sequences.empty()) {
      auto block = keys::DecodePostingBlock(
          sequences.front(), keys::EncodePostingBlock(sequences));
      // Decoded newest first.
      const std::vector<uint64_t> newest_first(sequences.rbegin(),
                                               sequences.rend());
      if (!block.ok() || *block != newest_first) __builtin_trap();
    }
  }
  return 0;
}
