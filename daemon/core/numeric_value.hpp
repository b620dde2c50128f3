#pragma once
// A lab value as a number, possibly censored by a comparator (">35000", "<1.0").
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>

namespace markerwatch {

enum class Comparator { none, less, less_equal, greater, greater_equal };

std::string_view to_string(Comparator c);
std::optional<Comparator> comparator_from_string(std::string_view s);

struct NumericValue {
  double value = 0.0;
  Comparator comparator = Comparator::none;
  std::string text;  // the number as written, without comparator: precision matters ("2.30")
};

// The lenient grammar of INTEROP.md §1.3: ^\s*(<=|>=|<|>|=)?\s*[+-]?\d+(\.\d+)?\s*$.
// Anything else (exponents, thousands separators, words) is not a number.
std::optional<NumericValue> parse_numeric(std::string_view s);

// Decimal quantities compare exactly; in binary floating point two quantities are equal when
// they differ by at most 1e-9 of the larger (RULES.md preamble).
// Inline: the engine compares quantities in its innermost loops.
inline bool quantities_equal(double a, double b) {
  return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b));
}

}  // namespace markerwatch
