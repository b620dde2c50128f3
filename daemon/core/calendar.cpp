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

namespace {

// The two digits of 0-99, one after the other.
constexpr char kDigitPairs[] =
    "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546"
    "4748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293"
    "949596979899";

void put_pair(char* out, unsigned value) {
  out[0] = kDigitPairs[2 * value];
  out[1] = kDigitPairs[2 * value + 1];
}

// 0000-01-01 and 9999-12-31 as day numbers: the days write_day formats.
constexpr int kFirstDay = -719528;
constexpr int kLastDay = 2932896;

}  // namespace

bool write_day(int day, char* out) {
  if (day < kFirstDay || day > kLastDay) return false;
  // The civil date of a day number (Howard Hinnant's civil_from_days, which std::chrono uses),
  // written by hand: this runs for every value and event. Years counted from March, in 400-year
  // eras; only January and February of year 0 lie in the era before (-1).
  const int shifted = day + 719468;  // days since 0000-03-01
  const int era = (shifted >= 0 ? shifted : shifted - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(shifted - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned month_from_march = (5 * day_of_year + 2) / 153;
  const unsigned dom = day_of_year - (153 * month_from_march + 2) / 5 + 1;
  const unsigned month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
  const auto year =
      static_cast<unsigned>(static_cast<int>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0));
  put_pair(out, year / 100);
  put_pair(out + 2, year % 100);
  out[4] = '-';
  put_pair(out + 5, month);
  out[7] = '-';
  put_pair(out + 8, dom);
  return true;
}

std::string format_day(int day) {
  std::string out(10, '0');
  if (write_day(day, out.data())) return out;
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{day}}};
  char buf[24];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

}  // namespace markerwatch
