#pragma once
// Small string helpers shared by every parser.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace markerwatch::text {

// ASCII only, whatever the process's locale: what isspace and tolower do in the "C" locale, inline
// (trimming is on the path of every CSV field and HL7 component).
constexpr bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
// The letters of a name that goes into logs and key=value lines unquoted: token names, certificate
// names, a client certificate's CN.
constexpr bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}
// Non-empty, at most max_len bytes, only is_name_char letters.
bool is_name(std::string_view s, std::size_t max_len);
std::string_view trim(std::string_view s);
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
std::vector<std::string_view> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// split(s, sep)[index] without building the parts; nullopt when there are fewer parts.
std::optional<std::string_view> nth_part(std::string_view s, char sep, std::size_t index);
bool is_valid_utf8(std::string_view s);
// The length of the UTF-8 sequence that starts at s[i] (i < s.size()), or 0 where none does.
std::size_t utf8_sequence_at(std::string_view s, std::size_t i);
// Lowercase hex of bytes; the value of one hex digit (either case), or -1.
std::string to_hex(std::string_view bytes);
int hex_value(char c);
// Keeps printable ASCII and replaces the rest, so a hostile string cannot forge log lines.
std::string printable(std::string_view s, std::size_t max_len = 120);
// Replaces every 'quoted' stretch with '...': error reasons quote values from the message, which
// are health data and stay out of the service log (they remain in the ACK and the message log).
std::string without_quoted_values(std::string_view s);
// A free-text field from outside: valid UTF-8, at most `max` bytes, no control characters but
// tab; else InputError naming `field`. Returns `value` itself (a view of the caller's text).
std::string_view checked_text(std::string_view value, std::string_view field, std::size_t max);

}  // namespace markerwatch::text
