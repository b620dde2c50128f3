#include "core/reference_range.hpp"

#include <string>

#include "core/numeric_value.hpp"
#include "core/text.hpp"

namespace markerwatch {

namespace {

std::optional<double> plain_number(std::string_view s) {
  auto n = parse_numeric(s);
  if (!n || n->comparator != Comparator::none) return std::nullopt;
  return n->value;
}

}  // namespace

std::optional<double> upper_limit_of(std::string_view range) {
  auto s = text::trim(range);
  if (s.size() >= 2 && s.front() == '(' && s.back() == ')')
    s = text::trim(s.substr(1, s.size() - 2));
  if (s.empty() || s.size() > 64) return std::nullopt;
  if (s.starts_with('<')) {
    auto n = parse_numeric(s);
    if (n && (n->comparator == Comparator::less || n->comparator == Comparator::less_equal))
      return n->value;
    return std::nullopt;
  }
  if (s.starts_with('>')) return std::nullopt;
  if (auto bare = plain_number(s)) return bare;
  for (std::string_view sep :
       {std::string_view(" to "), std::string_view("_"), std::string_view("-")}) {
    // Search after the first character so a leading minus sign is not taken as the separator.
    auto pos = s.find(sep, 1);
    if (pos == std::string_view::npos) continue;
    auto low = plain_number(s.substr(0, pos));
    auto high = plain_number(s.substr(pos + sep.size()));
    if (low && high && *low <= *high) return high;
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace markerwatch
