#include "storage/hashing.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <string>
#include <utility>

#include "common/merkle.h"
#include "common/proto_bytes.h"

namespace tradecheck::storage {
namespace {

// libcrypto only fails these calls on allocation failure; treat that like
// any other allocation failure (std::bad_alloc is not used: no exceptions),
// by aborting.
void CheckCrypto(int ok) {
  if (ok != 1) std::abort();
}

}  // namespace

std::string LeafHash(absl::string_view entry) {
  return merkle::HashLeaf(entry);
}

std::string EntryBytes(const v1::Decision& decision) {
  v1::Decision entry = decision;
  return EntryBytesClearingHashes(&entry);
}

std::string EntryBytesClearingHashes(v1::Decision* decision) {
  decision->clear_record_hash();
  if (decision->has_verdict()) decision->mutable_verdict()->clear_record_hash();
  return SerializeDeterministic(*decision);
}

std::string DeclarationDigest(const v1::Declaration& declaration) {
  return Sha256(SerializeDeterministic(declaration));
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  std::string out(kHashSize, '\0');
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           reinterpret_cast<unsigned char*>(out.data()), &len) == nullptr) {
    std::abort();
  }
  return out;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

const std::string& GenesisHashHex() {
  static const std::string* genesis = new std::string(2 * kHashSize, '0');
  return *genesis;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  CheckCrypto(RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                         static_cast<int>(n)));
  return out;
}

}  // namespace tradecheck::storage
