#include "core/numeric_value.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "core/text.hpp"

namespace markerwatch {

std::string_view to_string(Comparator c) {
  switch (c) {
    case Comparator::less:
      return "<";
    case Comparator::less_equal:
      return "<=";
    case Comparator::greater:
      return ">";
    case Comparator::greater_equal:
      return ">=";
    case Comparator::none:
      break;
  }
  return "";
}

std::optional<Comparator> comparator_from_string(std::string_view s) {
  if (s.empty() || s == "=") return Comparator::none;
  if (s == "<") return Comparator::less;
  if (s == "<=") return Comparator::less_equal;
  if (s == ">") return Comparator::greater;
  if (s == ">=") return Comparator::greater_equal;
  return std::nullopt;
}

std::optional<NumericValue> parse_numeric(std::string_view s) {
  s = text::trim(s);
  NumericValue out;
  if (s.starts_with("<=") || s.starts_with(">=")) {
    out.comparator = s[0] == '<' ? Comparator::less_equal : Comparator::greater_equal;
    s.remove_prefix(2);
  } else if (s.starts_with('<') || s.starts_with('>')) {
    out.comparator = s[0] == '<' ? Comparator::less : Comparator::greater;
    s.remove_prefix(1);
  } else if (s.starts_with('=')) {
    s.remove_prefix(1);
  }
  s = text::trim(s);
  std::string_view digits = s;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) digits.remove_prefix(1);
  if (digits.empty() || digits.size() > 40) return std::nullopt;
  const auto dot = digits.find('.');
  const auto int_part = digits.substr(0, dot);
  const auto is_digits = [](std::string_view d) {
    return !d.empty() &&
           std::all_of(d.begin(), d.end(), [](unsigned char c) { return std::isdigit(c); });
  };
  if (!is_digits(int_part)) return std::nullopt;
  if (dot != std::string_view::npos && !is_digits(digits.substr(dot + 1))) return std::nullopt;
  std::string_view number = s[0] == '+' ? s.substr(1) : s;
  double value = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || ptr != number.data() + number.size() || !std::isfinite(value))
    return std::nullopt;
  out.value = value;
  out.text = std::string(number);
  return out;
}

}  // namespace markerwatch
