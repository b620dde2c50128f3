#include "net/query_string.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"

namespace markerwatch::net {

std::string percent_decode(std::string_view in, bool plus_is_space) {
  std::string s;
  s.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+' && plus_is_space) {
      s += ' ';
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) throw InputError("a percent escape is cut short");
      const int hi = text::hex_value(in[i + 1]), lo = text::hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) throw InputError("a percent escape is not hexadecimal");
      s += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      s += in[i];
    }
  }
  if (!text::is_valid_utf8(s)) throw InputError("a parameter is not valid UTF-8");
  return s;
}

std::map<std::string, std::string> parse_query(std::string_view target) {
  std::map<std::string, std::string> out;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  auto rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto name = percent_decode(part.substr(0, eq), true);
    auto value =
        eq == std::string_view::npos ? std::string() : percent_decode(part.substr(eq + 1), true);
    if (!out.emplace(name, std::move(value)).second)
      throw InputError(text::printable(name, 40) + " is given more than once");
  }
  return out;
}

}  // namespace markerwatch::net
