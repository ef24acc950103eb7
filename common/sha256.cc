#include "common/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace tradecheck {
namespace {

void CheckCrypto(int ok) {
  if (ok != 1) std::abort();
}

}  // namespace

struct Sha256Hasher::Ctx {
  EVP_MD_CTX* md = nullptr;
};

Sha256Hasher::Sha256Hasher() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (ctx_->md == nullptr) std::abort();
  CheckCrypto(EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr));
}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(ctx_->md); }

void Sha256Hasher::Update(absl::string_view bytes) {
  CheckCrypto(EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size()));
}

void Sha256Hasher::UpdateU64BigEndian(uint64_t n) {
  char be[8];
  for (int i = 0; i < 8; ++i) be[i] = static_cast<char>(n >> (56 - 8 * i));
  Update(absl::string_view(be, sizeof(be)));
}

std::string Sha256Hasher::Finish() && {
  std::string out(kSha256Size, '\0');
  unsigned int len = 0;
  CheckCrypto(EVP_DigestFinal_ex(
      ctx_->md, reinterpret_cast<unsigned char*>(out.data()), &len));
  return out;
}

std::string Sha256(absl::string_view data) {
  Sha256Hasher h;
  h.Update(data);
  return std::move(h).Finish();
}

}  // namespace tradecheck
