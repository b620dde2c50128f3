#include "core/text.hpp"

#include "core/errors.hpp"

#include <algorithm>

namespace markerwatch::text {

std::string_view trim(std::string_view s) {
  const auto not_space = [](char c) { return !is_space(c); };
  auto begin = std::find_if(s.begin(), s.end(), not_space);
  auto end = std::find_if(s.rbegin(), std::string_view::reverse_iterator(begin), not_space).base();
  return std::string_view(begin, static_cast<std::size_t>(end - begin));
}

bool is_name(std::string_view s, std::size_t max_len) {
  return !s.empty() && s.size() <= max_len && std::all_of(s.begin(), s.end(), is_name_char);
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& part : parts) {
    if (&part != &parts.front()) out += sep;
    out += part;
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  // Counted first: one allocation instead of one per doubling (an HL7 segment has ~20 fields).
  parts.reserve(static_cast<std::size_t>(std::count(s.begin(), s.end(), sep)) + 1);
  std::size_t start = 0;
  while (true) {
    auto pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::optional<std::string_view> nth_part(std::string_view s, char sep, std::size_t index) {
  std::size_t start = 0;
  for (; index > 0; --index) {
    const auto pos = s.find(sep, start);
    if (pos == std::string_view::npos) return std::nullopt;
    start = pos + 1;
  }
  return s.substr(start, s.find(sep, start) - start);
}

std::size_t utf8_sequence_at(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Overlong forms, surrogates and out-of-range code points are not UTF-8.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto len = utf8_sequence_at(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string printable(std::string_view s, std::size_t max_len) {
  std::string out;
  for (char ch : s.substr(0, max_len)) {
    auto c = static_cast<unsigned char>(ch);
    out.push_back(c >= 0x20 && c < 0x7F ? ch : '?');
  }
  if (s.size() > max_len) out += "...";
  return out;
}

std::string without_quoted_values(std::string_view s) {
  std::string out;
  bool quoted = false;
  for (char c : s) {
    if (c == '\'') {
      out += quoted ? "...'" : "'";
      quoted = !quoted;
    } else if (!quoted) {
      out.push_back(c);
    }
  }
  if (quoted) out += "...";
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view checked_text(std::string_view value, std::string_view field, std::size_t max) {
  auto refuse = [&](const std::string& why) { throw InputError(std::string(field) + why); };
  if (!is_valid_utf8(value)) refuse(" is not valid UTF-8");
  if (value.size() > max) refuse(" is longer than " + std::to_string(max) + " characters");
  for (char c : value)
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') refuse(" contains control characters");
  return value;
}

}  // namespace markerwatch::text
