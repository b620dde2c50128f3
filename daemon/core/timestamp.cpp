#include "core/timestamp.hpp"

#include <chrono>
#include <cstdio>
#include <limits>

#include "core/calendar.hpp"
#include "core/text.hpp"

namespace markerwatch {

namespace {

bool valid_civil(int y, int m, int d) {
  using namespace std::chrono;
  return y >= 1800 && y <= 2200 &&
         year_month_day{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}}
             .ok();
}

bool read_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

bool valid_time(const LocalTimestamp& t) {
  return valid_civil(t.year, t.month, t.day) && t.hour <= 23 && t.minute <= 59 && t.second <= 60;
}

// Parses "+hhmm" / "-hh:mm" / "Z" at s; returns false when malformed.
bool read_offset(std::string_view s, bool colon, std::optional<int>& out) {
  if (s == "Z" || s == "z") {
    out = 0;
    return true;
  }
  if (s.size() < 3 || (s[0] != '+' && s[0] != '-')) return false;
  int hh = 0, mm = 0;
  if (colon) {
    if (s.size() != 6 || s[3] != ':' || !read_digits(s, 1, 2, hh) || !read_digits(s, 4, 2, mm))
      return false;
  } else {
    if (s.size() != 5 || !read_digits(s, 1, 2, hh) || !read_digits(s, 3, 2, mm)) return false;
  }
  if (hh > 14 || mm > 59) return false;
  out = (s[0] == '-' ? -1 : 1) * (hh * 60 + mm);
  return true;
}

bool read_fraction(std::string_view s, LocalTimestamp& t) {
  if (s.empty() || s.size() > 9) return false;
  std::int64_t nanos = 0;
  for (std::size_t i = 0; i < 9; ++i) {
    int digit = 0;
    if (i < s.size()) {
      if (s[i] < '0' || s[i] > '9') return false;
      digit = s[i] - '0';
    }
    nanos = nanos * 10 + digit;
  }
  t.nanos = nanos;
  t.precision = TimePrecision::fraction;
  return true;
}

}  // namespace

std::string_view to_string(TimePrecision p) {
  switch (p) {
    case TimePrecision::year:
      return "year";
    case TimePrecision::month:
      return "month";
    case TimePrecision::day:
      return "day";
    case TimePrecision::hour:
      return "hour";
    case TimePrecision::minute:
      return "minute";
    case TimePrecision::second:
      return "second";
    case TimePrecision::fraction:
      return "fraction";
  }
  return "day";
}

std::optional<LocalTimestamp> parse_hl7_timestamp(std::string_view s) {
  s = text::trim(s);
  LocalTimestamp t;
  auto zone_pos = s.find_first_of("+-");
  std::string_view body = s.substr(0, zone_pos);
  if (zone_pos != std::string_view::npos &&
      !read_offset(s.substr(zone_pos), false, t.offset_minutes))
    return std::nullopt;
  auto dot = body.find('.');
  std::string_view digits = body.substr(0, dot);
  static constexpr std::size_t lengths[] = {4, 6, 8, 10, 12, 14};
  static constexpr TimePrecision precisions[] = {TimePrecision::year,   TimePrecision::month,
                                                 TimePrecision::day,    TimePrecision::hour,
                                                 TimePrecision::minute, TimePrecision::second};
  bool matched = false;
  for (std::size_t i = 0; i < 6; ++i)
    if (digits.size() == lengths[i]) {
      t.precision = precisions[i];
      matched = true;
    }
  if (!matched) return std::nullopt;
  int* fields[] = {&t.year, &t.month, &t.day, &t.hour, &t.minute, &t.second};
  if (!read_digits(digits, 0, 4, t.year)) return std::nullopt;
  for (std::size_t i = 1; i < 6 && 4 + 2 * i <= digits.size(); ++i)
    if (!read_digits(digits, 2 + 2 * i, 2, *fields[i])) return std::nullopt;
  if (dot != std::string_view::npos) {
    if (t.precision != TimePrecision::second || !read_fraction(body.substr(dot + 1), t))
      return std::nullopt;
  }
  if (!valid_time(t)) return std::nullopt;
  return t;
}

std::optional<LocalTimestamp> parse_iso_timestamp(std::string_view s) {
  s = text::trim(s);
  LocalTimestamp t;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' || !read_digits(s, 0, 4, t.year) ||
      !read_digits(s, 5, 2, t.month) || !read_digits(s, 8, 2, t.day))
    return std::nullopt;
  t.precision = TimePrecision::day;
  std::string_view rest = s.substr(10);
  if (!rest.empty()) {
    if (rest[0] != 'T' && rest[0] != ' ') return std::nullopt;
    rest.remove_prefix(1);
    if (rest.size() < 5 || rest[2] != ':' || !read_digits(rest, 0, 2, t.hour) ||
        !read_digits(rest, 3, 2, t.minute))
      return std::nullopt;
    t.precision = TimePrecision::minute;
    rest.remove_prefix(5);
    if (rest.size() >= 3 && rest[0] == ':') {
      if (!read_digits(rest, 1, 2, t.second)) return std::nullopt;
      t.precision = TimePrecision::second;
      rest.remove_prefix(3);
      if (!rest.empty() && rest[0] == '.') {
        auto end = rest.find_first_of("Zz+-");
        if (!read_fraction(rest.substr(1, end == std::string_view::npos ? end : end - 1), t))
          return std::nullopt;
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
      }
    }
    if (!rest.empty() && !read_offset(rest, true, t.offset_minutes)) return std::nullopt;
  }
  if (!valid_time(t)) return std::nullopt;
  return t;
}

std::optional<ResolvedTime> resolve(const LocalTimestamp& t, const ZoneRules& default_zone) {
  using namespace std::chrono;
  if (t.precision < TimePrecision::day) return std::nullopt;
  ResolvedTime out;
  int offset = 0;
  if (t.offset_minutes) {
    offset = *t.offset_minutes;
  } else {
    offset = default_zone.offset_minutes_at_local(t);
    out.offset_assumed = true;
  }
  const auto days = sys_days{year_month_day{year{t.year}, month{static_cast<unsigned>(t.month)},
                                            day{static_cast<unsigned>(t.day)}}};
  const std::int64_t seconds = days.time_since_epoch().count() * 86400LL + t.hour * 3600LL +
                               t.minute * 60LL + t.second - offset * 60LL;
  out.utc = format_utc(seconds);
  if (t.nanos != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%03lld", static_cast<long long>(t.nanos / 1000000));
    out.utc.insert(out.utc.size() - 1, frac);
  }
  out.local_date = format_day(static_cast<int>(days.time_since_epoch().count()));
  return out;
}

std::string format_utc(std::int64_t unix_seconds) {
  auto days = unix_seconds >= 0 ? unix_seconds / 86400 : (unix_seconds - 86399) / 86400;
  auto rem = unix_seconds - days * 86400;
  // Hand-formatted into one allocation: this runs for every stored result and message.
  std::string out = "0000-00-00T00:00:00Z";
  std::size_t time_at = 11;  // after the 'T'
  if (days < std::numeric_limits<int>::min() || days > std::numeric_limits<int>::max() ||
      !write_day(static_cast<int>(days), out.data())) {
    out = format_day(static_cast<int>(days)) + "T00:00:00Z";
    time_at = out.size() - 9;
  }
  auto put = [&out](std::size_t pos, long long value) {
    out[pos] = static_cast<char>('0' + value / 10);
    out[pos + 1] = static_cast<char>('0' + value % 10);
  };
  put(time_at, rem / 3600);
  put(time_at + 3, rem % 3600 / 60);
  put(time_at + 6, rem % 60);
  return out;
}

}  // namespace markerwatch
