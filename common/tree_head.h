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

// A retroactive-impact record's id: "ri-" and its number (from 1)
// zero-padded to 12 digits; and back, accepting only that spelling
// (INVALID_ARGUMENT naming impact_id otherwise).
std::string ImpactId(uint64_t number);
absl::StatusOr<uint64_t> ParseImpactId(absl::string_view id);

// What the tree-head log says of one retroactive-impact record once it is
// stored: the server wrote record `number` with this content digest. It
// anchors the impact chain where an auditor already keeps evidence, so a
// record dropped from the chain's end still shows (docs/storage.md,
// "Retroactive-impact records").
struct ImpactAnchor {
  uint64_t number = 0;
  std::string content_digest;  // 32 raw bytes
  // The store's identity and restore epoch, as in its tree heads.
  std::string store_identity;
  uint64_t epoch = 0;
};

struct SignedImpactAnchor {
  ImpactAnchor anchor;
  std::string signature;  // 64 raw bytes (Ed25519)
};

// The bytes an anchor's signature covers:
//   "tradecheck impact anchor v1\n" (28 ASCII bytes), number (8,
//   big-endian), content digest (32), epoch (8, big-endian),
//   len(store_identity) (2, big-endian), store_identity.
// Its own context string: it never passes for a tree head or for the
// record's own signature, nor they for it.
std::string ImpactAnchorMessage(const ImpactAnchor& anchor);

// "binding" / "validate_only"; "" for another number.
std::string TreeHeadStreamName(int stream);

// One line of the tree-head log (no newline):
//   TH1 <stream name> <tree_size> <timestamp_unix_nanos> <root hex>
//       <epoch> <store_identity hex, or "-" when empty> <signature hex>
std::string FormatTreeHeadLine(const SignedTreeHead& head);
// INVALID_ARGUMENT naming the field that does not parse.
absl::StatusOr<SignedTreeHead> ParseTreeHeadLine(absl::string_view line);

// One impact anchor line of the same log (no newline):
//   RI1 <impact id> <content digest hex> <epoch>
//       <store_identity hex, or "-" when empty> <signature hex>
// A reader of the log tells the two kinds apart by the first field; a
// reader that knows only TH1 lines (a build before anchors) must skip RI1.
std::string FormatImpactAnchorLine(const SignedImpactAnchor& anchor);
// INVALID_ARGUMENT naming the field that does not parse.
absl::StatusOr<SignedImpactAnchor> ParseImpactAnchorLine(
    absl::string_view line);

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
  // Signs ImpactAnchorMessage(anchor): 64 raw bytes.
  std::string SignImpactAnchor(const ImpactAnchor& anchor) const;
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
  // OK, or FAILED_PRECONDITION naming the anchored record when the
  // signature is not this key's over ImpactAnchorMessage.
  absl::Status VerifyImpactAnchor(const SignedImpactAnchor& anchor) const;

 private:
  struct Key;
  explicit TreeHeadVerifier(std::unique_ptr<Key> key);
  std::unique_ptr<Key> key_;
};

}  // namespace tradecheck

#endif  // TRADECHECK_COMMON_TREE_HEAD_H_
