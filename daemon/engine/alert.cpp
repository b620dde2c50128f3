#include "engine/alert.hpp"

#include <charconv>

#include <cmath>
#include <cstdio>
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

std::string format_quantity(double v) {
  if (!std::isfinite(v)) return "?";
  char buf[400];  // the longest double in fixed notation with 4 decimals fits
  // Same digits as printf("%.4f"), without printf's cost.
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 4);
  if (ec != std::errc()) return "?";
  std::string s(buf, end);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::string format_value(const DatedValue& v) {
  return std::string(to_string(v.comparator)) + format_quantity(v.value);
}

}  // namespace markerwatch::engine
