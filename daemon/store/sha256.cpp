#include "store/sha256.hpp"

#include <openssl/evp.h>

#include "core/text.hpp"
#include "store/database.hpp"

namespace markerwatch::store {

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr) != 1)
    throw StoreError("SHA-256 failed");
  return text::to_hex(std::string_view(reinterpret_cast<const char*>(digest), len));
}

}  // namespace markerwatch::store
