#pragma once
// Standard Webhooks v1 signatures (INTEROP.md §4.1): HMAC-SHA256 over "id.timestamp.body" with the
// base64-decoded part of a "whsec_" secret, sent as "v1,<base64>".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace markerwatch::notify {

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// The HMAC key of a "whsec_..." secret; nullopt when it is not one.
std::optional<std::string> webhook_key(std::string_view secret);
std::string sign(std::string_view key, std::string_view id, std::int64_t timestamp,
                 std::string_view body);

// Keyed pseudonym of a patient identifier (hex HMAC-SHA256, first 32 hex digits).
std::string pseudonym(std::string_view key, std::string_view identifier);

}  // namespace markerwatch::notify
