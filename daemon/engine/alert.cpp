#include "engine/alert.hpp"

#include <charconv>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>

namespace markerwatch::engine {

std::string_view to_string(Rule r) {
  switch (r) {
    case Rule::rise:
      return "R_RISE";
    case Rule::renorm:
      return "R_RENORM";
    case Rule::absolute:
      return "R_ABS";
    case Rule::nodecline:
      return "R_NODECLINE";
    case Rule::nonorm:
      return "R_NONORM";
  }
  return "R_RISE";
}

std::optional<Rule> rule_from_string(std::string_view s) {
  for (auto r : {Rule::rise, Rule::renorm, Rule::absolute, Rule::nodecline, Rule::nonorm})
    if (to_string(r) == s) return r;
  return std::nullopt;
}

std::string_view to_string(AlertClass c) {
  return c == AlertClass::progression ? "progression" : "residual";
}

std::optional<AlertClass> alert_class_from_string(std::string_view s) {
  if (s == "progression") return AlertClass::progression;
  if (s == "residual") return AlertClass::residual;
  return std::nullopt;
}

AlertClass class_of(Rule r) {
  return r == Rule::nodecline || r == Rule::nonorm ? AlertClass::residual : AlertClass::progression;
}

std::string join_rules(const std::vector<Rule>& rules, std::string_view separator) {
  std::string out;
  for (auto r : rules) {
    if (!out.empty()) out += separator;
    out += to_string(r);
  }
  return out;
}

std::string_view to_string(Severity s) {
  return s == Severity::high ? "high" : "standard";
}

std::string_view to_string(NoteKind k) {
  return k == NoteKind::info ? "info" : "suppressed";
}

namespace {

// round(|v| * 10^4) to the nearest integer, ties to even, computed on v's exact binary value: the
// digits printf("%.4f") and std::to_chars(fixed, 4) give. Empty when it does not fit 64 bits.
std::optional<std::uint64_t> ten_thousandths(double v) {
  __extension__ using Wide = unsigned __int128;  // m * 10^4 < 2^67
  int exponent = 0;
  const double fraction = std::frexp(std::fabs(v), &exponent);  // |v| = fraction * 2^exponent
  const auto mantissa = static_cast<std::uint64_t>(std::ldexp(fraction, 53));  // exact
  const int shift = 53 - exponent;                                             // |v| = m / 2^shift
  const Wide scaled = static_cast<Wide>(mantissa) * 10000u;
  Wide rounded = 0;
  if (shift <= 0) {
    if (shift < -60) return std::nullopt;
    rounded = scaled << -shift;
  } else if (shift < 100) {  // beyond, |v| * 10^4 < 2^-30: it rounds to 0
    rounded = scaled >> shift;
    const Wide rest = scaled - (rounded << shift);
    const Wide half = static_cast<Wide>(1) << (shift - 1);
    if (rest > half || (rest == half && (rounded & 1) != 0)) ++rounded;
  }
  if (rounded > std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
  return static_cast<std::uint64_t>(rounded);
}

}  // namespace

std::string format_quantity(double v) {
  if (!std::isfinite(v)) return "?";
  // Written by hand for every quantity that fits (this runs for every value of every summary);
  // the rest the same way as printf("%.4f") would.
  if (const auto units = ten_thousandths(v)) {
    if (*units == 0) return "0";
    char buf[32];
    char* end = buf + sizeof buf;
    char* at = end;
    auto fraction = static_cast<unsigned>(*units % 10000);
    auto whole = *units / 10000;
    int decimals = 4;
    while (decimals > 0 && fraction % 10 == 0) {
      fraction /= 10;
      --decimals;
    }
    for (int i = 0; i < decimals; ++i, fraction /= 10)
      *--at = static_cast<char>('0' + fraction % 10);
    if (decimals > 0) *--at = '.';
    do {
      *--at = static_cast<char>('0' + whole % 10);
      whole /= 10;
    } while (whole != 0);
    if (v < 0) *--at = '-';
    return std::string(at, end);
  }
  char buf[400];  // the longest double in fixed notation with 4 decimals fits
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 4);
  if (ec != std::errc()) return "?";
  std::string s(buf, end);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string format_value(const DatedValue& v) {
  return std::string(to_string(v.comparator)) + format_quantity(v.value);
}

}  // namespace markerwatch::engine
