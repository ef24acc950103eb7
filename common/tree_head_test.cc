#include "common/tree_head.h"

#include <string>

#include "absl/strings/escaping.h"
#include "common/sha256.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tradecheck {
namespace {

using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::StatusIs;

TreeHead SampleHead() {
  TreeHead h;
  h.stream = 1;
  h.tree_size = 258;
  h.timestamp_unix_nanos = 1767225600123456789;
  h.root_hash = Sha256("root");
  h.epoch = 0;
  return h;
}

TEST(TreeHeadTest, MessageBytesAreTheDocumentedLayout) {
  TreeHead h = SampleHead();
  h.store_identity = "ab";
  h.epoch = 3;
  const std::string m = TreeHeadMessage(h);
  ASSERT_EQ(m.size(), 24u + 1 + 8 + 8 + 32 + 8 + 2 + 2);
  EXPECT_EQ(m.substr(0, 24), "tradecheck tree head v1\n");
  EXPECT_EQ(absl::BytesToHexString(m.substr(24, 17)),
            "01" "0000000000000102" "18867251f555cd15");
  EXPECT_EQ(m.substr(41, 32), h.root_hash);
  EXPECT_EQ(absl::BytesToHexString(m.substr(73)), "0000000000000003" "0002" "6162");
}

TEST(TreeHeadTest, SignsAndVerifies) {
  auto signer = TreeHeadSigner::FromPrivateKeyPem(
      TreeHeadSigner::GeneratePrivateKeyPem());
  ASSERT_THAT(signer.status(), IsOk());
  auto verifier = TreeHeadVerifier::FromPublicKeyPem((*signer)->PublicKeyPem());
  ASSERT_THAT(verifier.status(), IsOk());
  SignedTreeHead s{SampleHead(), (*signer)->Sign(SampleHead())};
  EXPECT_THAT((*verifier)->Verify(s), IsOk());

  // Any field changed after signing fails, naming the head.
  SignedTreeHead shorter = s;
  shorter.head.tree_size = 257;
  EXPECT_THAT((*verifier)->Verify(shorter),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::HasSubstr("size 257")));
  SignedTreeHead other_root = s;
  other_root.head.root_hash[0] ^= 1;
  EXPECT_FALSE((*verifier)->Verify(other_root).ok());

  // Another key does not verify it.
  auto stranger = TreeHeadSigner::FromPrivateKeyPem(
      TreeHeadSigner::GeneratePrivateKeyPem());
  ASSERT_THAT(stranger.status(), IsOk());
  auto wrong = TreeHeadVerifier::FromPublicKeyPem((*stranger)->PublicKeyPem());
  ASSERT_THAT(wrong.status(), IsOk());
  EXPECT_FALSE((*wrong)->Verify(s).ok());
}

// A retroactive-impact record's signature covers its content digest under
// its own context string: it verifies for that digest only, and a tree-head
// signature is never taken for one (nor the reverse).
TEST(TreeHeadTest, SignsAndVerifiesImpactDigests) {
  auto signer = TreeHeadSigner::FromPrivateKeyPem(
      TreeHeadSigner::GeneratePrivateKeyPem());
  ASSERT_THAT(signer.status(), IsOk());
  auto verifier = TreeHeadVerifier::FromPublicKeyPem((*signer)->PublicKeyPem());
  ASSERT_THAT(verifier.status(), IsOk());
  const std::string digest = Sha256("ri-000000000001 changes");
  EXPECT_EQ(ImpactMessage(digest),
            "tradecheck retroactive impact v1\n" + digest);
  const std::string sig = (*signer)->SignImpact(digest);
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_THAT((*verifier)->VerifyImpact(digest, sig, "ri-000000000001"),
              IsOk());
  std::string altered = digest;
  altered[5] ^= 1;
  EXPECT_THAT((*verifier)->VerifyImpact(altered, sig, "ri-000000000001"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::HasSubstr("ri-000000000001")));
  // Not interchangeable with a tree head's signature.
  SignedTreeHead head{SampleHead(), (*signer)->Sign(SampleHead())};
  EXPECT_FALSE((*verifier)->VerifyImpact(digest, head.signature, "x").ok());
  head.signature = sig;
  EXPECT_FALSE((*verifier)->Verify(head).ok());
}

// An impact anchor (the RI1 line of the tree-head log) signs the record's
// number, digest, epoch and store under a third context string: the
// documented bytes, and no signature of a record or a head passes for one.
TEST(TreeHeadTest, ImpactAnchorsAreSignedUnderTheirOwnContext) {
  auto signer = TreeHeadSigner::FromPrivateKeyPem(
      TreeHeadSigner::GeneratePrivateKeyPem());
  ASSERT_THAT(signer.status(), IsOk());
  auto verifier = TreeHeadVerifier::FromPublicKeyPem((*signer)->PublicKeyPem());
  ASSERT_THAT(verifier.status(), IsOk());
  SignedImpactAnchor s;
  s.anchor.number = 0x0102;
  s.anchor.content_digest = Sha256("ri-000000000258");
  s.anchor.epoch = 3;
  s.anchor.store_identity = "id";
  std::string want = "tradecheck impact anchor v1\n";
  EXPECT_EQ(want.size(), 28u);
  want += std::string("\0\0\0\0\0\0\x01\x02", 8) + s.anchor.content_digest +
          std::string("\0\0\0\0\0\0\0\x03", 8) + std::string("\0\x02", 2) +
          "id";
  EXPECT_EQ(ImpactAnchorMessage(s.anchor), want);
  s.signature = (*signer)->SignImpactAnchor(s.anchor);
  EXPECT_THAT((*verifier)->VerifyImpactAnchor(s), IsOk());

  const std::string line = FormatImpactAnchorLine(s);
  EXPECT_THAT(line, ::testing::StartsWith("RI1 ri-000000000258 "));
  auto back = ParseImpactAnchorLine(line);
  ASSERT_THAT(back.status(), IsOk());
  EXPECT_EQ(back->anchor.number, 258u);
  EXPECT_EQ(back->anchor.content_digest, s.anchor.content_digest);
  EXPECT_EQ(back->anchor.epoch, 3u);
  EXPECT_EQ(back->anchor.store_identity, "id");
  EXPECT_THAT((*verifier)->VerifyImpactAnchor(*back), IsOk());

  // Another number under the same signature does not verify.
  SignedImpactAnchor moved = *back;
  moved.anchor.number = 257;
  EXPECT_THAT((*verifier)->VerifyImpactAnchor(moved),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::HasSubstr("ri-000000000257")));
  // The record's own signature over the same digest is not an anchor's.
  moved = *back;
  moved.signature = (*signer)->SignImpact(s.anchor.content_digest);
  EXPECT_FALSE((*verifier)->VerifyImpactAnchor(moved).ok());
  EXPECT_FALSE((*verifier)
                   ->VerifyImpact(s.anchor.content_digest, s.signature, "x")
                   .ok());

  EXPECT_THAT(ParseImpactAnchorLine("RI1 ri-1 00 0 - 00").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("impact_id")));
  EXPECT_THAT(ParseImpactAnchorLine(FormatTreeHeadLine(
                                        {SampleHead(), std::string(64, 'x')}))
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TreeHeadTest, RejectsKeysThatAreNotEd25519PemWithAClearMessage) {
  EXPECT_THAT(TreeHeadSigner::FromPrivateKeyPem("not a key").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("openssl genpkey")));
  EXPECT_THAT(TreeHeadVerifier::FromPublicKeyPem("").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("public key")));
}

TEST(TreeHeadTest, LogLinesRoundTrip) {
  SignedTreeHead s{SampleHead(), std::string(64, '\x07')};
  const std::string line = FormatTreeHeadLine(s);
  EXPECT_THAT(line, ::testing::StartsWith("TH1 binding 258 1767225600123456789 "));
  auto back = ParseTreeHeadLine(line);
  ASSERT_THAT(back.status(), IsOk());
  EXPECT_TRUE(back->head == s.head);
  EXPECT_EQ(back->signature, s.signature);

  s.head.store_identity = "id";
  s.head.stream = 2;
  back = ParseTreeHeadLine(FormatTreeHeadLine(s));
  ASSERT_THAT(back.status(), IsOk());
  EXPECT_TRUE(back->head == s.head);

  EXPECT_THAT(ParseTreeHeadLine("TH1 binding x 1 00 0 - 00").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("tree_size")));
  EXPECT_THAT(ParseTreeHeadLine("hello").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace tradecheck
