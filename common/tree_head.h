// Signed tree heads of the audit trail: what a head says (stream, size,
// root, time, store identity and epoch), the exact bytes that are signed,
// Ed25519 signing and verification on OpenSSL, and the one-line text form of
// the tree-head log. Pure (no RocksDB, no gRPC, no file I/O): the server
// signs with it and the offline verifier checks with it. The byte layouts
// are in docs/storage.md ("Signed tree heads").
//
//   auto signer = TreeHeadSigner::FromPrivateKeyPem(pem);
//   TreeHead head{...};
//   std::string sig = (*signer)->Sign(head);
//   auto verifier = TreeHeadVerifier::FromPublicKeyPem((*signer)->PublicKeyPem());
//   absl::Status ok = (*verifier)->Verify(head, sig);
#ifndef TRADECHECK_COMMON_TREE_HEAD_H_
#define TRADECHECK_COMMON_TREE_HEAD_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tradecheck/v1/audit_service.pb.h"

namespace tradecheck {

struct TreeHead {
  // 1 = BINDING, 2 = VALIDATE_ONLY (tradecheck.v1.TrailStream numbers).
  int stream = 1;
  uint64_t tree_size = 0;
  int64_t timestamp_unix_nanos = 0;
  std::string root_hash;  // 32 raw bytes
  // Identity of the store and its restore epoch; empty / 0 until the store
  // has them. Signed either way, so a later build can fill them in.
  std::string store_identity;
  uint64_t epoch = 0;
};

struct SignedTreeHead {
  TreeHead head;
  std::string signature;  // 64 raw bytes (Ed25519)
};

bool operator==(const TreeHead& a, const TreeHead& b);

// The bytes an Ed25519 signature covers:
//   "tradecheck tree head v1\n" (24 ASCII bytes), stream (1 byte),
//   tree_size (8, big-endian), timestamp_unix_nanos (8, big-endian two's
//   complement), root_hash (32), epoch (8, big-endian),
//   len(store_identity) (2, big-endian), store_identity.
std::string TreeHeadMessage(const TreeHead& head);

// The bytes a retroactive-impact record's signature covers:
//   "tradecheck retroactive impact v1\n" (33 ASCII bytes), then the
//   record's content digest (32 raw bytes; RetroactiveImpact.content_digest
//   is its hex), which covers the record's id, its link to the record
//   before it and every change.
std::string ImpactMessage(absl::string_view content_digest_raw);
// That digest: SHA-256 (32 raw bytes) of the record's deterministic
// serialization with content_digest and signature empty. The store keeps
// it as hex; a verifier recomputes it from the whole record.
std::string ImpactDigest(const v1::RetroactiveImpact& impact);

// "binding" / "validate_only"; "" for another number.
std::string TreeHeadStreamName(int stream);

// One line of the tree-head log (no newline):
//   TH1 <stream name> <tree_size> <timestamp_unix_nanos> <root hex>
//       <epoch> <store_identity hex, or "-" when empty> <signature hex>
std::string FormatTreeHeadLine(const SignedTreeHead& head);
// INVALID_ARGUMENT naming the field that does not parse.
absl::StatusOr<SignedTreeHead> ParseTreeHeadLine(absl::string_view line);

// Signs tree heads with an Ed25519 private key. Thread-safe.
class TreeHeadSigner {
 public:
  // `pem` is a PKCS#8 private key ("-----BEGIN PRIVATE KEY-----"), as
  // written by `openssl genpkey -algorithm ed25519`. INVALID_ARGUMENT when
  // it does not parse or is not Ed25519.
  static absl::StatusOr<std::unique_ptr<TreeHeadSigner>> FromPrivateKeyPem(
      absl::string_view pem);
  // A fresh key, as PKCS#8 PEM.
  static std::string GeneratePrivateKeyPem();
  ~TreeHeadSigner();

  std::string Sign(const TreeHead& head) const;
  // Signs ImpactMessage(content_digest_raw): 64 raw bytes.
  std::string SignImpact(absl::string_view content_digest_raw) const;
  // SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----").
  std::string PublicKeyPem() const;

 private:
  struct Key;
  explicit TreeHeadSigner(std::unique_ptr<Key> key);
  std::unique_ptr<Key> key_;
};

// Checks signatures against an Ed25519 public key. Thread-safe.
class TreeHeadVerifier {
 public:
  // SubjectPublicKeyInfo PEM; INVALID_ARGUMENT when it does not parse or is
  // not Ed25519.
  static absl::StatusOr<std::unique_ptr<TreeHeadVerifier>> FromPublicKeyPem(
      absl::string_view pem);
  ~TreeHeadVerifier();

  // OK, or FAILED_PRECONDITION "signature ... does not match".
  absl::Status Verify(const SignedTreeHead& head) const;
  // OK, or FAILED_PRECONDITION naming `what` when `signature` is not this
  // key's over ImpactMessage(content_digest_raw).
  absl::Status VerifyImpact(absl::string_view content_digest_raw,
                            absl::string_view signature,
                            absl::string_view what) const;

 private:
  struct Key;
  explicit TreeHeadVerifier(std::unique_ptr<Key> key);
  std::unique_ptr<Key> key_;
};

}  // namespace tradecheck

#endif  // TRADECHECK_COMMON_TREE_HEAD_H_
