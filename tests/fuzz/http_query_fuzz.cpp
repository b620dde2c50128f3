// A request target as the HTTP API reads it: its path decoded (percent escapes) and its query
// (application/x-www-form-urlencoded). Properties:
// - decoding ends in valid UTF-8 or an InputError with a reason, nothing else;
// - decoded text is never longer than what was sent, and text without escapes decodes to itself;
// - a query parsed, encoded again and parsed again gives the same names and values.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "fuzz_support.hpp"
#include "net/query_string.hpp"

using namespace markerwatch;

namespace {

std::string encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void check_decoded(std::string_view in, bool plus_is_space) {
  try {
    const auto out = net::percent_decode(in, plus_is_space);
    fuzz::require(text::is_valid_utf8(out), "decoded text that is not UTF-8");
    fuzz::require(out.size() <= in.size(), "decoded text longer than what was sent");
    const bool plain = in.find('%') == std::string_view::npos &&
                       (!plus_is_space || in.find('+') == std::string_view::npos);
    if (plain) fuzz::require(out == in, "text without escapes decoded to something else");
  } catch (const InputError& e) {
    fuzz::require(*e.what() != '\0', "a decoding refused without a reason");
  }
}

void check_query(std::string_view target) {
  std::map<std::string, std::string> query;
  try {
    query = net::parse_query(target);
  } catch (const InputError& e) {
    fuzz::require(*e.what() != '\0', "a query refused without a reason");
    return;
  }
  std::string again = "/again?";
  for (const auto& [name, value] : query) {
    fuzz::require(text::is_valid_utf8(name) && text::is_valid_utf8(value),
                  "a parameter that is not UTF-8");
    again += encode(name) + "=" + encode(value) + "&";
  }
  fuzz::require(net::parse_query(again) == query, "a query encoded again reads differently");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  const auto path = target.substr(0, target.find('?'));
  check_decoded(path, false);
  check_decoded(target, true);
  check_query(target);
  return 0;
}
