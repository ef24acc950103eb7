// Merkle tree math of RFC 9162 (Certificate Transparency v2), section 2.1:
// leaf and node hashing, the tree head (root), inclusion and consistency
// proofs, and their verification. Pure: no RocksDB, no gRPC, no I/O, so the
// server's store and the client's offline verifier share it.
//
// A tree is read through a NodeReader that returns the hash of a *perfect*
// subtree: level L, index i covers leaves [i * 2^L, (i + 1) * 2^L), level 0
// being the leaf hashes. Every subtree the RFC's recursion visits is either
// perfect (one read) or the right edge of the tree, so a root or a proof
// costs O(log n) reads.
//
//   merkle::MemoryTree tree;
//   for (const std::string& entry : entries) tree.Append(merkle::HashLeaf(entry));
//   auto proof = merkle::InclusionProof(tree.Reader(), 3, tree.size());
//   absl::Status ok = merkle::VerifyInclusion(3, tree.size(),
//       merkle::HashLeaf(entries[3]), *proof, tree.Root());
//
// Hashes are 32 raw bytes (SHA-256). The exact bytes are in docs/storage.md
// ("Merkle tree").
#ifndef TRADECHECK_COMMON_MERKLE_H_
#define TRADECHECK_COMMON_MERKLE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tradecheck::merkle {

inline constexpr size_t kHashSize = 32;

// SHA-256(0x00 || entry).
std::string HashLeaf(absl::string_view entry);
// SHA-256(0x01 || left || right).
std::string HashChildren(absl::string_view left, absl::string_view right);
// Root of the empty tree: SHA-256 of no bytes.
const std::string& EmptyRoot();

// Hash of the perfect subtree (level, index). Errors are passed through.
using NodeReader =
    std::function<absl::StatusOr<std::string>(int level, uint64_t index)>;

// MTH(D[0:size]). EmptyRoot() for size 0.
absl::StatusOr<std::string> Root(const NodeReader& read, uint64_t size);

// PATH(index, D[0:size]), leaf side first. INVALID_ARGUMENT naming
// leaf_index when index >= size.
absl::StatusOr<std::vector<std::string>> InclusionProof(const NodeReader& read,
                                                        uint64_t index,
                                                        uint64_t size);

// PROOF(first, D[0:second]). Empty when first is 0 or equals second.
// INVALID_ARGUMENT naming first_size when first > second.
absl::StatusOr<std::vector<std::string>> ConsistencyProof(
    const NodeReader& read, uint64_t first, uint64_t second);

// RFC 9162 2.1.3.2. OK, or INVALID_ARGUMENT for a malformed proof, or
// FAILED_PRECONDITION when the proof does not lead to `root`; the message
// says which.
absl::Status VerifyInclusion(uint64_t index, uint64_t size,
                             absl::string_view leaf_hash,
                             const std::vector<std::string>& proof,
                             absl::string_view root);

// RFC 9162 2.1.4.2, plus the trivial cases: first == 0 (any tree extends
// the empty one; the proof must be empty) and first == second (the proof
// must be empty and the roots equal).
absl::Status VerifyConsistency(uint64_t first, uint64_t second,
                               absl::string_view first_root,
                               absl::string_view second_root,
                               const std::vector<std::string>& proof);

// The perfect subtrees that make up a tree of `size` leaves (its "compact
// range", largest first), kept by an appender: O(log n) memory, and each
// Append reports the perfect nodes it completes so they can be stored.
class Frontier {
 public:
  struct Node {
    int level = 0;
    std::string hash;
  };
  // Called for each perfect node an Append completes at level >= 1.
  using Emit =
      std::function<void(int level, uint64_t index, const std::string& hash)>;

  Frontier() = default;
  // The frontier of a stored tree of `size` leaves (O(log n) reads).
  static absl::StatusOr<Frontier> Load(const NodeReader& read, uint64_t size);

  uint64_t size() const { return size_; }
  void Append(absl::string_view leaf_hash, const Emit& emit);
  // MTH of the leaves appended so far.
  std::string Root() const;

 private:
  uint64_t size_ = 0;
  std::vector<Node> nodes_;  // strictly decreasing levels
};

// Every level of a tree in memory (2n hashes): tests and the offline
// verifier, which rebuilds a tree from an exported trail.
class MemoryTree {
 public:
  void Append(std::string leaf_hash);
  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  // Reads nodes of this tree; valid while the tree lives and is not
  // appended to. NOT_FOUND for a node that is not complete.
  NodeReader Reader() const;
  std::string Root() const;

 private:
  std::vector<std::vector<std::string>> levels_;
};

}  // namespace tradecheck::merkle

#endif  // TRADECHECK_COMMON_MERKLE_H_
