#include "core/duration.hpp"

#include <charconv>
#include <cmath>

namespace markerwatch {

std::optional<std::int64_t> parse_duration_seconds(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  const double factor = unit == 's'   ? 1
                        : unit == 'm' ? 60
                        : unit == 'h' ? 3600
                        : unit == 'd' ? 86400
                                      : 0;
  const auto number = text.substr(0, text.size() - 1);
  // from_chars would also take "1e3", "inf" and "nan": only digits with one optional point.
  const auto point = number.find('.');
  const auto is_digits = [](std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (factor == 0 || !is_digits(number.substr(0, point)) ||
      (point != std::string_view::npos && !is_digits(number.substr(point + 1))))
    return std::nullopt;
  double value = 0;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (error != std::errc() || end != number.data() + number.size()) return std::nullopt;
  const double seconds = value * factor;
  // Beyond a century no span is meant; the bound also keeps the cast defined.
  if (seconds > 100.0 * 366 * 86400) return std::nullopt;
  return static_cast<std::int64_t>(std::floor(seconds));
}

}  // namespace markerwatch
