#include "store/sha256.hpp"

#include <openssl/evp.h>

#include "core/text.hpp"
#include "store/database.hpp"

namespace markerwatch::store {

namespace {

// Fetched once and kept for the life of the process: with EVP_sha256() OpenSSL 3 looks the
// algorithm up again on every call (~2,300 instructions, a seventh of hashing an HL7 message).
const EVP_MD* sha256_algorithm() {
  static const EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (!algorithm) throw StoreError("SHA-256 is not available from OpenSSL");
  return algorithm;
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, sha256_algorithm(), nullptr) != 1)
    throw StoreError("SHA-256 failed");
  return text::to_hex(std::string_view(reinterpret_cast<const char*>(digest), len));
}

}  // namespace markerwatch::store
