// libFuzzer target: page tokens as a client may send them back
// (storage/page_token.h). Decoding arbitrary bytes must fail cleanly, and a
// token we encode must decode to itself.
#include <cstddef>
#include <cstdint>
#include <string>

#include "storage/page_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::string key = "fuzz-key-0123456789abcdef";
  const std::string digest = "0123456789abcdef";
  auto token = tradecheck::storage::DecodePageToken(key, bytes, digest);
  if (token.ok() && token->filter_digest != digest) __builtin_trap();
  if (size >= 8) {
    tradecheck::storage::PageToken mine;
    mine.filter_digest = digest;
    uint64_t resume = 0;
    for (int i = 0; i < 8; ++i) resume = (resume << 8) | data[i];
    mine.resume_at = resume;
    const std::string encoded = tradecheck::storage::EncodePageToken(key, mine);
    auto back = tradecheck::storage::DecodePageToken(key, encoded, digest);
    if (!back.ok() || back->resume_at != resume) __builtin_trap();
  }
  return 0;
}
