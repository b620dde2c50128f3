#pragma once
#include <string>
#include <string_view>

namespace markerwatch::store {

// Hex SHA-256: duplicate detection keys for messages and result rows.
std::string sha256_hex(std::string_view bytes);

}  // namespace markerwatch::store
