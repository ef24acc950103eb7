#include "common/merkle.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tradecheck::merkle {
namespace {

using ::tradecheck::testing::IsOk;
using ::tradecheck::testing::StatusIs;

// The leaves of Certificate Transparency's Merkle tree tests. The expected
// hashes below were computed independently of this code, by
// common/testdata/merkle_vectors.py (RFC 9162 2.1 transcribed over Python's
// hashlib); the root of all eight is also the published CT value.
std::vector<std::string> Leaves() {
  return {std::string(), std::string("\x00", 1), "\x10", "\x20\x21",
          "\x30\x31", "\x40\x41\x42\x43", "\x50\x51\x52\x53\x54\x55\x56\x57",
          "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};
}

struct RootCase {
  uint64_t size;
  const char* root;
};
const RootCase kRoots[] = {
{1, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"},
{2, "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"},
{3, "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"},
{4, "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
{5, "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"},
{6, "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"},
{7, "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"},
{8, "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"},
};

struct ProofCase {
  uint64_t a;
  uint64_t b;
  std::vector<std::string> hex;
};
const std::vector<ProofCase>& InclusionCases() {
  static const auto* cases = new std::vector<ProofCase>{
{0, 1, {}},
{0, 8, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
{5, 8, {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
{2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
{1, 5, {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
{6, 7, {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
{4, 5, {"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
  };
  return *cases;
}
const std::vector<ProofCase>& ConsistencyCases() {
  static const auto* cases = new std::vector<ProofCase>{
{1, 1, {}},
{1, 8, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
{6, 8, {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
{2, 5, {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
{3, 7, {"0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7", "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7", "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125", "837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e"}},
{4, 7, {"837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e"}},
{5, 8, {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
  };
  return *cases;
}

std::string Unhex(const std::string& hex) { return absl::HexStringToBytes(hex); }
std::vector<std::string> Unhex(const std::vector<std::string>& hex) {
  std::vector<std::string> out;
  for (const std::string& h : hex) out.push_back(Unhex(h));
  return out;
}

MemoryTree TreeOf(const std::vector<std::string>& entries, size_t n) {
  MemoryTree tree;
  for (size_t i = 0; i < n; ++i) tree.Append(HashLeaf(entries[i]));
  return tree;
}

// MTH straight from the RFC's definition, for the property tests.
std::string ReferenceRoot(const std::vector<std::string>& leaf_hashes,
                          size_t begin, size_t end) {
  const size_t n = end - begin;
  if (n == 0) return Sha256("");
  if (n == 1) return leaf_hashes[begin];
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return HashChildren(ReferenceRoot(leaf_hashes, begin, begin + k),
                      ReferenceRoot(leaf_hashes, begin + k, end));
}

TEST(MerkleTest, HashesAreRfc9162) {
  EXPECT_EQ(absl::BytesToHexString(EmptyRoot()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(absl::BytesToHexString(HashLeaf("")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  EXPECT_EQ(HashChildren("a", "b"), Sha256(std::string("\x01", 1) + "ab"));
}

TEST(MerkleTest, RootsMatchKnownAnswers) {
  const std::vector<std::string> entries = Leaves();
  for (const RootCase& c : kRoots) {
    MemoryTree tree = TreeOf(entries, c.size);
    EXPECT_EQ(absl::BytesToHexString(tree.Root()), c.root) << c.size;
    Frontier frontier;
    for (size_t i = 0; i < c.size; ++i) {
      frontier.Append(HashLeaf(entries[i]), nullptr);
    }
    EXPECT_EQ(absl::BytesToHexString(frontier.Root()), c.root) << c.size;
  }
}

TEST(MerkleTest, InclusionProofsMatchKnownAnswers) {
  const std::vector<std::string> entries = Leaves();
  for (const ProofCase& c : InclusionCases()) {
    MemoryTree tree = TreeOf(entries, c.b);
    absl::StatusOr<std::vector<std::string>> proof =
        InclusionProof(tree.Reader(), c.a, c.b);
    ASSERT_THAT(proof.status(), IsOk());
    EXPECT_EQ(*proof, Unhex(c.hex)) << c.a << " in " << c.b;
    EXPECT_THAT(VerifyInclusion(c.a, c.b, HashLeaf(entries[c.a]), *proof,
                                tree.Root()),
                IsOk());
  }
}

TEST(MerkleTest, ConsistencyProofsMatchKnownAnswers) {
  const std::vector<std::string> entries = Leaves();
  for (const ProofCase& c : ConsistencyCases()) {
    MemoryTree tree = TreeOf(entries, c.b);
    absl::StatusOr<std::vector<std::string>> proof =
        ConsistencyProof(tree.Reader(), c.a, c.b);
    ASSERT_THAT(proof.status(), IsOk());
    EXPECT_EQ(*proof, Unhex(c.hex)) << c.a << " to " << c.b;
    EXPECT_THAT(VerifyConsistency(c.a, c.b, TreeOf(entries, c.a).Root(),
                                  tree.Root(), *proof),
                IsOk());
  }
}

TEST(MerkleTest, EveryProofVerifiesUpTo300Leaves) {
  std::vector<std::string> leaf_hashes;
  MemoryTree tree;
  std::vector<std::string> roots = {EmptyRoot()};
  for (int i = 0; i < 300; ++i) {
    leaf_hashes.push_back(HashLeaf(absl::StrCat("record ", i)));
    tree.Append(leaf_hashes.back());
    roots.push_back(tree.Root());
    ASSERT_EQ(roots.back(), ReferenceRoot(leaf_hashes, 0, leaf_hashes.size()));
  }
  for (uint64_t n = 1; n <= 300; n += (n < 70 ? 1 : 37)) {
    for (uint64_t m = 0; m < n; ++m) {
      auto proof = InclusionProof(tree.Reader(), m, n);
      ASSERT_THAT(proof.status(), IsOk());
      ASSERT_THAT(VerifyInclusion(m, n, leaf_hashes[m], *proof, roots[n]),
                  IsOk())
          << m << " in " << n;
    }
    for (uint64_t m = 0; m <= n; ++m) {
      auto proof = ConsistencyProof(tree.Reader(), m, n);
      ASSERT_THAT(proof.status(), IsOk());
      ASSERT_THAT(VerifyConsistency(m, n, roots[m], roots[n], *proof), IsOk())
          << m << " to " << n;
    }
  }
}

TEST(MerkleTest, AlteredProofsFail) {
  std::vector<std::string> leaf_hashes;
  MemoryTree tree;
  for (int i = 0; i < 11; ++i) {
    leaf_hashes.push_back(HashLeaf(absl::StrCat("r", i)));
    tree.Append(leaf_hashes.back());
  }
  const std::string root = tree.Root();
  auto proof = InclusionProof(tree.Reader(), 6, 11);
  ASSERT_THAT(proof.status(), IsOk());
  // Wrong leaf, wrong index, a flipped hash, a proof cut short.
  EXPECT_THAT(VerifyInclusion(6, 11, leaf_hashes[5], *proof, root),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_FALSE(VerifyInclusion(7, 11, leaf_hashes[6], *proof, root).ok());
  std::vector<std::string> flipped = *proof;
  flipped[1][0] ^= 1;
  EXPECT_FALSE(VerifyInclusion(6, 11, leaf_hashes[6], flipped, root).ok());
  std::vector<std::string> cut(proof->begin(), proof->end() - 1);
  EXPECT_THAT(VerifyInclusion(6, 11, leaf_hashes[6], cut, root),
              StatusIs(absl::StatusCode::kInvalidArgument));

  MemoryTree first;
  for (int i = 0; i < 7; ++i) first.Append(leaf_hashes[i]);
  auto consistency = ConsistencyProof(tree.Reader(), 7, 11);
  ASSERT_THAT(consistency.status(), IsOk());
  EXPECT_THAT(VerifyConsistency(7, 11, first.Root(), root, *consistency),
              IsOk());
  // A first tree that differs in one leaf is not a prefix of the second.
  MemoryTree forged;
  for (int i = 0; i < 7; ++i) {
    forged.Append(i == 3 ? HashLeaf("forged") : leaf_hashes[i]);
  }
  EXPECT_THAT(VerifyConsistency(7, 11, forged.Root(), root, *consistency),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_FALSE(VerifyConsistency(7, 11, first.Root(), root, {}).ok());
}

TEST(MerkleTest, BadRangesNameTheField) {
  MemoryTree tree;
  tree.Append(HashLeaf("x"));
  EXPECT_THAT(InclusionProof(tree.Reader(), 1, 1).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("leaf_index")));
  EXPECT_THAT(ConsistencyProof(tree.Reader(), 2, 1).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("first_size")));
}

TEST(MerkleTest, FrontierEmitsEveryPerfectNodeAndReloads) {
  MemoryTree tree;
  Frontier frontier;
  std::map<std::pair<int, uint64_t>, std::string> emitted;
  for (int i = 0; i < 77; ++i) {
    const std::string leaf = HashLeaf(absl::StrCat(i));
    tree.Append(leaf);
    emitted[{0, static_cast<uint64_t>(i)}] = leaf;
    frontier.Append(leaf, [&](int level, uint64_t index, const std::string& h) {
      emitted[{level, index}] = h;
    });
    ASSERT_EQ(frontier.Root(), tree.Root());
  }
  NodeReader read = [&](int level,
                        uint64_t index) -> absl::StatusOr<std::string> {
    auto it = emitted.find({level, index});
    if (it == emitted.end()) return absl::NotFoundError("no node");
    return it->second;
  };
  absl::StatusOr<Frontier> loaded = Frontier::Load(read, 77);
  ASSERT_THAT(loaded.status(), IsOk());
  EXPECT_EQ(loaded->Root(), tree.Root());
  loaded->Append(HashLeaf("77"), nullptr);
  tree.Append(HashLeaf("77"));
  EXPECT_EQ(loaded->Root(), tree.Root());
}

}  // namespace
}  // namespace tradecheck::merkle
