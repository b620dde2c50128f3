#include "engine/json_writer.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

namespace markerwatch::engine {

namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not well formed (overlong
// forms, surrogates and code points above U+10FFFF included, as nlohmann's decoder rejects them).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return n;
}

// The bytes a JSON string can hold as they are: printable ASCII but the quote and the backslash.
constexpr std::array<bool, 256> kPlainBytes = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return plain;
}();

// Whether none of the 8 bytes in `x` needs escaping, tested all at once (strings are mostly plain
// text, hundreds of bytes per event). The word tests for "some byte is below n" and "some byte is
// zero" never miss such a byte; when they report one that is not there, the bytes are simply
// examined one by one.
bool all_plain(std::uint64_t x) {
  constexpr std::uint64_t kOnes = 0x0101010101010101u, kHighs = 0x8080808080808080u;
  const auto some_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  const auto special = ((x - kOnes * 0x20) & ~x & kHighs) | some_zero(x ^ (kOnes * '"')) |
                       some_zero(x ^ (kOnes * '\\')) | (x & kHighs);
  return special == 0;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    // Copy the run of characters that need no escaping in one go.
    std::size_t plain = i;
    for (std::uint64_t eight = 0; plain + 8 <= s.size(); plain += 8) {
      std::memcpy(&eight, s.data() + plain, 8);
      if (!all_plain(eight)) break;
    }
    while (plain < s.size() && kPlainBytes[static_cast<unsigned char>(s[plain])]) ++plain;
    if (plain > i) {
      out.append(s.substr(i, plain - i));
      i = plain;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

bool JsonWriter::comma_due() {
  if (after_key_) {
    after_key_ = false;
    return false;
  }
  if (first_.empty()) return false;
  const bool due = !first_.back();
  first_.back() = false;
  return due;
}

void JsonWriter::separate() {
  if (comma_due()) out_ += ',';
}

JsonWriter& JsonWriter::open(char bracket) {
  separate();
  out_ += bracket;
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::close(char bracket) {
  out_ += bracket;
  first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::begin_object() {
  return open('{');
}

JsonWriter& JsonWriter::end_object() {
  return close('}');
}

JsonWriter& JsonWriter::begin_array() {
  return open('[');
}

JsonWriter& JsonWriter::end_array() {
  return close(']');
}

JsonWriter& JsonWriter::key(std::string_view name) {
  // The comma, the quoted name and the colon in one append: replay writes millions of members.
  std::array<char, 64> text;
  if (name.size() + 4 > text.size()) {
    separate();
    out_ += '"';
    out_ += name;  // member names are the program's own, plain ASCII
    out_ += "\":";
  } else {
    std::size_t n = 0;
    if (comma_due()) text[n++] = ',';
    text[n++] = '"';
    std::memcpy(text.data() + n, name.data(), name.size());
    n += name.size();
    text[n++] = '"';
    text[n++] = ':';
    out_.append(text.data(), n);
  }
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::members_of(std::string_view object) {
  if (object.size() <= 2) return *this;  // "{}"
  separate();
  out_.append(object.substr(1, object.size() - 2));
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view s) {
  separate();
  append_json_string(out_, s);
  return *this;
}

JsonWriter& JsonWriter::number(double v) {
  separate();
  // nlohmann's own number formatting (what its dump() calls: shortest round-trip digits, "340.0",
  // "29.37", "1e+21"; null for NaN and infinity), without building a document per number. The
  // unit test compares it with dump() over many values, should the library ever change it.
  if (!std::isfinite(v)) {
    out_ += "null";
    return *this;
  }
  std::array<char, 64> buffer{};
  char* end = nlohmann::detail::to_chars(buffer.data(), buffer.data() + buffer.size(), v);
  out_.append(buffer.data(), static_cast<std::size_t>(end - buffer.data()));
  return *this;
}

JsonWriter& JsonWriter::integer(std::int64_t v) {
  separate();
  std::array<char, 24> buffer;
  const auto end = std::to_chars(buffer.data(), buffer.data() + buffer.size(), v).ptr;
  out_.append(buffer.data(), static_cast<std::size_t>(end - buffer.data()));
  return *this;
}

JsonWriter& JsonWriter::boolean(bool v) {
  separate();
  out_ += v ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  separate();
  out_ += "null";
  return *this;
}

}  // namespace markerwatch::engine
