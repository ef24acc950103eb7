#include "storage/hashing.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace tradecheck::storage {
namespace {

std::string Hex(const std::string& bytes) {
  return absl::BytesToHexString(bytes);
}

TEST(HashingTest, MatchesPublishedVectors) {
  // RFC 6962/9162: the hash of an empty leaf is SHA-256(0x00).
  EXPECT_EQ(Hex(LeafHash("")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  // RFC 4231 test case 2.
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HashingTest, EntryBytesLeaveOutOnlyTheRecordHashes) {
  v1::Decision d;
  d.set_decision_id("b-000000000001");
  d.set_previous_hash(GenesisHashHex());
  d.mutable_verdict()->set_outcome(v1::OUTCOME_ALLOW);
  const std::string entry = EntryBytes(d);
  d.set_record_hash("ab");
  d.mutable_verdict()->set_record_hash("cd");
  EXPECT_EQ(EntryBytes(d), entry);
  d.set_previous_hash(std::string(64, '1'));
  EXPECT_NE(EntryBytes(d), entry);
  EXPECT_EQ(GenesisHashHex(), std::string(64, '0'));
}

TEST(HashingTest, EntryBytesClearingHashesMatchesEntryBytes) {
  v1::Decision d;
  d.set_decision_id("b-000000000002");
  d.set_previous_hash(GenesisHashHex());
  d.mutable_verdict()->set_outcome(v1::OUTCOME_DENY);
  d.set_record_hash("ab");
  d.mutable_verdict()->set_record_hash("cd");
  const std::string expected = EntryBytes(d);
  EXPECT_EQ(EntryBytesClearingHashes(&d), expected);
  EXPECT_TRUE(d.record_hash().empty());
  EXPECT_TRUE(d.verdict().record_hash().empty());
}

TEST(HashingTest, DeclarationDigestFollowsContent) {
  v1::Declaration a;
  a.set_declaration_id("D-1");
  v1::Declaration b = a;
  EXPECT_EQ(DeclarationDigest(a), DeclarationDigest(b));
  b.set_exporter_id("EXP-1");
  EXPECT_NE(DeclarationDigest(a), DeclarationDigest(b));
}

}  // namespace
}  // namespace tradecheck::storage
