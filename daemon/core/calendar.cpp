#include "core/calendar.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>

namespace markerwatch {

std::optional<int> day_number(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  int y = 0;
  unsigned m = 0, d = 0;
  auto parse = [&](std::size_t at, std::size_t len, auto& out) {
    auto [p, ec] = std::from_chars(s.data() + at, s.data() + at + len, out);
    return ec == std::errc() && p == s.data() + at + len;
  };
  if (!parse(0, 4, y) || !parse(5, 2, m) || !parse(8, 2, d)) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m},
                                        std::chrono::day{d}};
  if (!ymd.ok()) return std::nullopt;
  return static_cast<int>(std::chrono::sys_days{ymd}.time_since_epoch().count());
}

std::string format_day(int day) {
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{day}}};
  const int year = static_cast<int>(ymd.year());
  const auto month = static_cast<unsigned>(ymd.month()), dom = static_cast<unsigned>(ymd.day());
  if (year < 0 || year > 9999) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", year, month, dom);
    return buf;
  }
  // Every real date; written by hand: this runs for every value and event (snprintf is slow).
  std::string out = "0000-00-00";
  auto put = [&out](std::size_t pos, unsigned value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10)
      out[pos + static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
  };
  put(0, static_cast<unsigned>(year), 4);
  put(5, month, 2);
  put(8, dom, 2);
  return out;
}

}  // namespace markerwatch
