#include "common/sha256.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace tradecheck {
namespace {

TEST(Sha256Test, MatchesPublishedVectors) {
  // FIPS 180-2 "abc" and the empty message.
  EXPECT_EQ(absl::BytesToHexString(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(absl::BytesToHexString(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256Test, IncrementalEqualsOneShot) {
  Sha256Hasher h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(std::move(h).Finish(), Sha256("abc"));
}

TEST(Sha256Test, LengthPrefixIsEightBytesBigEndian) {
  Sha256Hasher h;
  h.UpdateU64BigEndian(0x0102030405060708ull);
  EXPECT_EQ(std::move(h).Finish(),
            Sha256(std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8)));
}

}  // namespace
}  // namespace tradecheck
