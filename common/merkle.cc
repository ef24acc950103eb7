#include "common/merkle.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace tradecheck::merkle {
namespace {

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

int Log2(uint64_t n) {  // REQUIRES: n is a power of two
  int level = 0;
  while (n > 1) {
    n >>= 1;
    ++level;
  }
  return level;
}

// The largest power of two smaller than n. REQUIRES: n > 1.
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

// MTH(D[begin:end]). Every range the RFC's recursion reaches starts at a
// multiple of its largest power-of-two part, so a perfect range is one
// stored node.
absl::StatusOr<std::string> SubtreeRoot(const NodeReader& read, uint64_t begin,
                                        uint64_t end) {
  const uint64_t n = end - begin;
  if (n == 0) return EmptyRoot();
  if (IsPowerOfTwo(n)) {
    const int level = Log2(n);
    TC_ASSIGN_OR_RETURN(std::string hash, read(level, begin >> level));
    if (hash.size() != kHashSize) {
      return absl::DataLossError(absl::StrCat("Merkle node (level ", level,
                                              ", index ", begin >> level,
                                              ") is not 32 bytes"));
    }
    return hash;
  }
  const uint64_t k = SplitPoint(n);
  TC_ASSIGN_OR_RETURN(std::string left, SubtreeRoot(read, begin, begin + k));
  TC_ASSIGN_OR_RETURN(std::string right, SubtreeRoot(read, begin + k, end));
  return HashChildren(left, right);
}

// PATH(m, D[begin:end]), appended leaf side first.
absl::Status Path(const NodeReader& read, uint64_t m, uint64_t begin,
                  uint64_t end, std::vector<std::string>* out) {
  const uint64_t n = end - begin;
  if (n <= 1) return absl::OkStatus();
  const uint64_t k = SplitPoint(n);
  if (m < k) {
    TC_RETURN_IF_ERROR(Path(read, m, begin, begin + k, out));
    TC_ASSIGN_OR_RETURN(std::string sibling, SubtreeRoot(read, begin + k, end));
    out->push_back(std::move(sibling));
  } else {
    TC_RETURN_IF_ERROR(Path(read, m - k, begin + k, end, out));
    TC_ASSIGN_OR_RETURN(std::string sibling,
                        SubtreeRoot(read, begin, begin + k));
    out->push_back(std::move(sibling));
  }
  return absl::OkStatus();
}

// SUBPROOF(m, D[begin:end], b).
absl::Status Subproof(const NodeReader& read, uint64_t m, uint64_t begin,
                      uint64_t end, bool whole, std::vector<std::string>* out) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (!whole) {
      TC_ASSIGN_OR_RETURN(std::string root, SubtreeRoot(read, begin, end));
      out->push_back(std::move(root));
    }
    return absl::OkStatus();
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    TC_RETURN_IF_ERROR(Subproof(read, m, begin, begin + k, whole, out));
    TC_ASSIGN_OR_RETURN(std::string right, SubtreeRoot(read, begin + k, end));
    out->push_back(std::move(right));
  } else {
    TC_RETURN_IF_ERROR(Subproof(read, m - k, begin + k, end, false, out));
    TC_ASSIGN_OR_RETURN(std::string left, SubtreeRoot(read, begin, begin + k));
    out->push_back(std::move(left));
  }
  return absl::OkStatus();
}

absl::Status CheckHashSizes(const std::vector<std::string>& proof) {
  for (size_t i = 0; i < proof.size(); ++i) {
    if (proof[i].size() != kHashSize) {
      return absl::InvalidArgumentError(absl::StrCat(
          "proof[", i, "]: is ", proof[i].size(), " bytes, not 32"));
    }
  }
  return absl::OkStatus();
}

std::string Hex(absl::string_view bytes) {
  return absl::BytesToHexString(bytes);
}

}  // namespace

std::string HashLeaf(absl::string_view entry) {
  Sha256Hasher h;
  h.Update(absl::string_view("\x00", 1));
  h.Update(entry);
  return std::move(h).Finish();
}

std::string HashChildren(absl::string_view left, absl::string_view right) {
  Sha256Hasher h;
  h.Update(absl::string_view("\x01", 1));
  h.Update(left);
  h.Update(right);
  return std::move(h).Finish();
}

const std::string& EmptyRoot() {
  static const std::string* root = new std::string(Sha256(""));
  return *root;
}

absl::StatusOr<std::string> Root(const NodeReader& read, uint64_t size) {
  return SubtreeRoot(read, 0, size);
}

absl::StatusOr<std::vector<std::string>> InclusionProof(const NodeReader& read,
                                                        uint64_t index,
                                                        uint64_t size) {
  if (index >= size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "leaf_index: ", index, " is not below the tree size ", size));
  }
  std::vector<std::string> out;
  TC_RETURN_IF_ERROR(Path(read, index, 0, size, &out));
  return out;
}

absl::StatusOr<std::vector<std::string>> ConsistencyProof(
    const NodeReader& read, uint64_t first, uint64_t second) {
  if (first > second) {
    return absl::InvalidArgumentError(absl::StrCat(
        "first_size: ", first, " is larger than second_size ", second));
  }
  std::vector<std::string> out;
  if (first == 0 || first == second) return out;
  TC_RETURN_IF_ERROR(Subproof(read, first, 0, second, true, &out));
  return out;
}

absl::Status VerifyInclusion(uint64_t index, uint64_t size,
                             absl::string_view leaf_hash,
                             const std::vector<std::string>& proof,
                             absl::string_view root) {
  if (index >= size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "leaf_index: ", index, " is not below the tree size ", size));
  }
  if (leaf_hash.size() != kHashSize || root.size() != kHashSize) {
    return absl::InvalidArgumentError("leaf hash and root must be 32 bytes");
  }
  TC_RETURN_IF_ERROR(CheckHashSizes(proof));
  uint64_t fn = index;
  uint64_t sn = size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    if (sn == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "inclusion proof: ", proof.size(), " hashes is too long for leaf ",
          index, " of a tree of ", size));
    }
    if ((fn & 1) == 1 || fn == sn) {
      r = HashChildren(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "inclusion proof: ", proof.size(), " hashes is too short for leaf ",
        index, " of a tree of ", size));
  }
  if (r != root) {
    return absl::FailedPreconditionError(absl::StrCat(
        "inclusion proof of leaf ", index, " leads to root ", Hex(r),
        ", not to the tree head's root ", Hex(root)));
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t first, uint64_t second,
                               absl::string_view first_root,
                               absl::string_view second_root,
                               const std::vector<std::string>& proof) {
  if (first > second) {
    return absl::InvalidArgumentError(absl::StrCat(
        "first_size: ", first, " is larger than second_size ", second));
  }
  TC_RETURN_IF_ERROR(CheckHashSizes(proof));
  if (first == 0 || first == second) {
    if (!proof.empty()) {
      return absl::InvalidArgumentError(
          "consistency proof: must be empty when first_size is 0 or equals "
          "second_size");
    }
    if (first == second && first_root != second_root) {
      return absl::FailedPreconditionError(absl::StrCat(
          "two tree heads of size ", first, " have different roots: ",
          Hex(first_root), " and ", Hex(second_root)));
    }
    return absl::OkStatus();
  }
  if (proof.empty()) {
    return absl::InvalidArgumentError("consistency proof: is empty");
  }
  std::vector<std::string> path;
  if (IsPowerOfTwo(first)) path.emplace_back(first_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = first - 1;
  uint64_t sn = second - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = path[0];
  std::string sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string& c = path[i];
    if (sn == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("consistency proof: too long for sizes ", first,
                       " and ", second));
    }
    if ((fn & 1) == 1 || fn == sn) {
      fr = HashChildren(c, fr);
      sr = HashChildren(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "consistency proof: too short for sizes ", first, " and ", second));
  }
  if (fr != first_root) {
    return absl::FailedPreconditionError(absl::StrCat(
        "consistency proof leads to root ", Hex(fr), " for size ", first,
        ", not to the first tree head's root ", Hex(first_root)));
  }
  if (sr != second_root) {
    return absl::FailedPreconditionError(absl::StrCat(
        "consistency proof leads to root ", Hex(sr), " for size ", second,
        ", not to the second tree head's root ", Hex(second_root)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Frontier> Frontier::Load(const NodeReader& read,
                                        uint64_t size) {
  Frontier f;
  f.size_ = size;
  uint64_t begin = 0;
  for (int level = 63; level >= 0; --level) {
    const uint64_t width = uint64_t{1} << level;
    if ((size & width) == 0) continue;
    TC_ASSIGN_OR_RETURN(std::string hash, SubtreeRoot(read, begin, begin + width));
    f.nodes_.push_back(Node{level, std::move(hash)});
    begin += width;
  }
  return f;
}

void Frontier::Append(absl::string_view leaf_hash, const Emit& emit) {
  std::string carry(leaf_hash);
  int level = 0;
  const uint64_t new_size = size_ + 1;
  while (!nodes_.empty() && nodes_.back().level == level) {
    carry = HashChildren(nodes_.back().hash, carry);
    nodes_.pop_back();
    ++level;
    if (emit) emit(level, (new_size >> level) - 1, carry);
  }
  nodes_.push_back(Node{level, std::move(carry)});
  size_ = new_size;
}

std::string Frontier::Root() const {
  if (nodes_.empty()) return EmptyRoot();
  std::string r = nodes_.back().hash;
  for (size_t i = nodes_.size() - 1; i-- > 0;) {
    r = HashChildren(nodes_[i].hash, r);
  }
  return r;
}

void MemoryTree::Append(std::string leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(std::move(leaf_hash));
  for (size_t level = 0; levels_[level].size() % 2 == 0; ++level) {
    if (levels_.size() == level + 1) levels_.emplace_back();
    const std::vector<std::string>& below = levels_[level];
    levels_[level + 1].push_back(
        HashChildren(below[below.size() - 2], below.back()));
  }
}

NodeReader MemoryTree::Reader() const {
  return [this](int level, uint64_t index) -> absl::StatusOr<std::string> {
    if (level < 0 || static_cast<size_t>(level) >= levels_.size() ||
        index >= levels_[level].size()) {
      return absl::NotFoundError(absl::StrCat("no Merkle node at level ",
                                              level, ", index ", index));
    }
    return levels_[level][index];
  };
}

std::string MemoryTree::Root() const {
  absl::StatusOr<std::string> root = merkle::Root(Reader(), size());
  return root.ok() ? *root : std::string();
}

}  // namespace tradecheck::merkle
