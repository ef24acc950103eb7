#include "common/tree_head.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/proto_bytes.h"
#include "common/status_macros.h"
#include "common/sha256.h"

namespace tradecheck {
namespace {

constexpr char kContext[] = "tradecheck tree head v1\n";
constexpr char kAnchorContext[] = "tradecheck impact anchor v1\n";
constexpr size_t kSignatureSize = 64;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

void AppendU64(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

// A 2-byte big-endian length, then up to 0xffff bytes of `bytes`.
void AppendSized(const std::string& bytes, std::string* out) {
  const size_t n = std::min<size_t>(bytes.size(), 0xffff);
  out->push_back(static_cast<char>((n >> 8) & 0xff));
  out->push_back(static_cast<char>(n & 0xff));
  out->append(bytes, 0, n);
}

// The store identity field of a log line: hex, or "-" when empty.
std::string IdentityField(const std::string& identity) {
  return identity.empty() ? "-" : absl::BytesToHexString(identity);
}

std::unique_ptr<BIO, BioFree> ReadBio(absl::string_view pem) {
  return std::unique_ptr<BIO, BioFree>(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

// Ed25519 over `message` (no pre-hash). Aborts only on allocation failure.
std::string SignMessage(EVP_PKEY* key, const std::string& message) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::string sig(kSignatureSize, '\0');
  size_t len = sig.size();
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()),
                     &len,
                     reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      len != kSignatureSize) {
    std::abort();
  }
  return sig;
}

// OK, or FAILED_PRECONDITION "the signature of <what> does not match".
absl::Status VerifyMessage(EVP_PKEY* key, const std::string& message,
                           absl::string_view signature,
                           absl::string_view what) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) {
    return absl::InternalError("cannot set up Ed25519 verification");
  }
  if (EVP_DigestVerify(
          ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
          signature.size(),
          reinterpret_cast<const unsigned char*>(message.data()),
          message.size()) != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the signature of ", what, " does not match the public key"));
  }
  return absl::OkStatus();
}

bool HexToBytes(absl::string_view hex, size_t size, std::string* out) {
  if (hex.size() != 2 * size) return false;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(c)) return false;
  }
  *out = absl::HexStringToBytes(hex);
  return true;
}

bool ParseIdentityField(absl::string_view field, std::string* out) {
  if (field == "-") {
    out->clear();
    return true;
  }
  return field.size() % 2 == 0 && HexToBytes(field, field.size() / 2, out);
}

// The three fields both line kinds end with: epoch, store identity,
// signature (INVALID_ARGUMENT naming the one that does not parse).
absl::Status ParseSignedTail(absl::string_view epoch_field,
                             absl::string_view identity_field,
                             absl::string_view signature_field,
                             uint64_t* epoch, std::string* identity,
                             std::string* signature) {
  if (!absl::SimpleAtoi(epoch_field, epoch)) {
    return absl::InvalidArgumentError("epoch: not a number");
  }
  if (!ParseIdentityField(identity_field, identity)) {
    return absl::InvalidArgumentError("store_identity: not hex");
  }
  if (!HexToBytes(signature_field, kSignatureSize, signature)) {
    return absl::InvalidArgumentError("signature: not 128 hex digits");
  }
  return absl::OkStatus();
}

}  // namespace

bool operator==(const TreeHead& a, const TreeHead& b) {
  return a.stream == b.stream && a.tree_size == b.tree_size &&
         a.timestamp_unix_nanos == b.timestamp_unix_nanos &&
         a.root_hash == b.root_hash && a.store_identity == b.store_identity &&
         a.epoch == b.epoch;
}

std::string TreeHeadMessage(const TreeHead& head) {
  std::string out(kContext);
  out.push_back(static_cast<char>(head.stream & 0xff));
  AppendU64(head.tree_size, &out);
  AppendU64(static_cast<uint64_t>(head.timestamp_unix_nanos), &out);
  out += head.root_hash;
  AppendU64(head.epoch, &out);
  AppendSized(head.store_identity, &out);
  return out;
}

std::string ImpactMessage(absl::string_view content_digest_raw) {
  return absl::StrCat("tradecheck retroactive impact v1\n",
                      content_digest_raw);
}

std::string ImpactDigest(const v1::RetroactiveImpact& impact) {
  v1::RetroactiveImpact copy = impact;
  copy.clear_content_digest();
  copy.clear_signature();
  return Sha256(SerializeDeterministic(copy));
}

std::string ImpactId(uint64_t number) {
  return absl::StrFormat("ri-%012d", number);
}

absl::StatusOr<uint64_t> ParseImpactId(absl::string_view id) {
  uint64_t number = 0;
  if (id.size() != 15 || !absl::StartsWith(id, "ri-") ||
      !absl::SimpleAtoi(id.substr(3), &number) || number == 0 ||
      ImpactId(number) != id) {
    return absl::InvalidArgumentError(
        "impact_id: must be \"ri-\" and 12 digits, e.g. \"ri-000000000001\"");
  }
  return number;
}

std::string ImpactAnchorMessage(const ImpactAnchor& anchor) {
  std::string out(kAnchorContext);
  AppendU64(anchor.number, &out);
  out += anchor.content_digest;
  AppendU64(anchor.epoch, &out);
  AppendSized(anchor.store_identity, &out);
  return out;
}

std::string TreeHeadStreamName(int stream) {
  if (stream == 1) return "binding";
  if (stream == 2) return "validate_only";
  return "";
}

std::string FormatTreeHeadLine(const SignedTreeHead& s) {
  const TreeHead& h = s.head;
  return absl::StrCat(
      "TH1 ", TreeHeadStreamName(h.stream), " ", h.tree_size, " ",
      h.timestamp_unix_nanos, " ", absl::BytesToHexString(h.root_hash), " ",
      h.epoch, " ", IdentityField(h.store_identity), " ",
      absl::BytesToHexString(s.signature));
}

absl::StatusOr<SignedTreeHead> ParseTreeHeadLine(absl::string_view line) {
  std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
  if (f.size() != 8 || f[0] != "TH1") {
    return absl::InvalidArgumentError(
        "tree-head line: expected \"TH1 stream size time root epoch store "
        "signature\"");
  }
  SignedTreeHead s;
  TreeHead& h = s.head;
  if (f[1] == "binding") {
    h.stream = 1;
  } else if (f[1] == "validate_only") {
    h.stream = 2;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("stream: unknown \"", f[1], "\""));
  }
  if (!absl::SimpleAtoi(f[2], &h.tree_size)) {
    return absl::InvalidArgumentError("tree_size: not a number");
  }
  if (!absl::SimpleAtoi(f[3], &h.timestamp_unix_nanos)) {
    return absl::InvalidArgumentError("timestamp: not a number");
  }
  if (!HexToBytes(f[4], 32, &h.root_hash)) {
    return absl::InvalidArgumentError("root_hash: not 64 hex digits");
  }
  TC_RETURN_IF_ERROR(ParseSignedTail(f[5], f[6], f[7], &h.epoch,
                                      &h.store_identity, &s.signature));
  return s;
}

std::string FormatImpactAnchorLine(const SignedImpactAnchor& s) {
  const ImpactAnchor& a = s.anchor;
  return absl::StrCat("RI1 ", ImpactId(a.number), " ",
                      absl::BytesToHexString(a.content_digest), " ", a.epoch,
                      " ", IdentityField(a.store_identity), " ",
                      absl::BytesToHexString(s.signature));
}

absl::StatusOr<SignedImpactAnchor> ParseImpactAnchorLine(
    absl::string_view line) {
  std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
  if (f.size() != 6 || f[0] != "RI1") {
    return absl::InvalidArgumentError(
        "impact anchor line: expected \"RI1 impact_id digest epoch store "
        "signature\"");
  }
  SignedImpactAnchor s;
  ImpactAnchor& a = s.anchor;
  absl::StatusOr<uint64_t> number = ParseImpactId(f[1]);
  if (!number.ok()) return number.status();
  a.number = *number;
  if (!HexToBytes(f[2], 32, &a.content_digest)) {
    return absl::InvalidArgumentError("content_digest: not 64 hex digits");
  }
  TC_RETURN_IF_ERROR(ParseSignedTail(f[3], f[4], f[5], &a.epoch,
                                      &a.store_identity, &s.signature));
  return s;
}

// ---------------------------------------------------------------- signer

struct TreeHeadSigner::Key {
  Pkey pkey;
};

TreeHeadSigner::TreeHeadSigner(std::unique_ptr<Key> key)
    : key_(std::move(key)) {}
TreeHeadSigner::~TreeHeadSigner() = default;

absl::StatusOr<std::unique_ptr<TreeHeadSigner>>
TreeHeadSigner::FromPrivateKeyPem(absl::string_view pem) {
  auto bio = ReadBio(pem);
  Pkey pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (pkey == nullptr) {
    return absl::InvalidArgumentError(
        "tree-head key: not a PEM private key (expected \"-----BEGIN PRIVATE "
        "KEY-----\", e.g. from `openssl genpkey -algorithm ed25519`)");
  }
  if (EVP_PKEY_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError("tree-head key: not an Ed25519 key");
  }
  auto key = std::make_unique<Key>();
  key->pkey = std::move(pkey);
  return std::unique_ptr<TreeHeadSigner>(new TreeHeadSigner(std::move(key)));
}

std::string TreeHeadSigner::GeneratePrivateKeyPem() {
  EVP_PKEY* raw = nullptr;
  std::unique_ptr<EVP_PKEY_CTX, void (*)(EVP_PKEY_CTX*)> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr), EVP_PKEY_CTX_free);
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    std::abort();  // only on allocation failure
  }
  Pkey pkey(raw);
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0,
                               nullptr, nullptr) != 1) {
    std::abort();
  }
  return BioContents(bio.get());
}

std::string TreeHeadSigner::Sign(const TreeHead& head) const {
  return SignMessage(key_->pkey.get(), TreeHeadMessage(head));
}

std::string TreeHeadSigner::SignImpact(
    absl::string_view content_digest_raw) const {
  return SignMessage(key_->pkey.get(), ImpactMessage(content_digest_raw));
}

std::string TreeHeadSigner::SignImpactAnchor(const ImpactAnchor& anchor) const {
  return SignMessage(key_->pkey.get(), ImpactAnchorMessage(anchor));
}

std::string TreeHeadSigner::PublicKeyPem() const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PUBKEY(bio.get(), key_->pkey.get()) != 1) std::abort();
  return BioContents(bio.get());
}

// ---------------------------------------------------------------- verifier

struct TreeHeadVerifier::Key {
  Pkey pkey;
};

TreeHeadVerifier::TreeHeadVerifier(std::unique_ptr<Key> key)
    : key_(std::move(key)) {}
TreeHeadVerifier::~TreeHeadVerifier() = default;

absl::StatusOr<std::unique_ptr<TreeHeadVerifier>>
TreeHeadVerifier::FromPublicKeyPem(absl::string_view pem) {
  auto bio = ReadBio(pem);
  Pkey pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (pkey == nullptr) {
    return absl::InvalidArgumentError(
        "public key: not a PEM public key (expected \"-----BEGIN PUBLIC "
        "KEY-----\")");
  }
  if (EVP_PKEY_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError("public key: not an Ed25519 key");
  }
  auto key = std::make_unique<Key>();
  key->pkey = std::move(pkey);
  return std::unique_ptr<TreeHeadVerifier>(
      new TreeHeadVerifier(std::move(key)));
}

absl::Status TreeHeadVerifier::Verify(const SignedTreeHead& s) const {
  return VerifyMessage(
      key_->pkey.get(), TreeHeadMessage(s.head), s.signature,
      absl::StrCat("the ", TreeHeadStreamName(s.head.stream),
                   " tree head of size ", s.head.tree_size));
}

absl::Status TreeHeadVerifier::VerifyImpact(
    absl::string_view content_digest_raw, absl::string_view signature,
    absl::string_view what) const {
  return VerifyMessage(key_->pkey.get(), ImpactMessage(content_digest_raw),
                       signature, what);
}

absl::Status TreeHeadVerifier::VerifyImpactAnchor(
    const SignedImpactAnchor& s) const {
  return VerifyMessage(
      key_->pkey.get(), ImpactAnchorMessage(s.anchor), s.signature,
      absl::StrCat("the tree-head log's anchor of ", ImpactId(s.anchor.number)));
}

}  // namespace tradecheck
