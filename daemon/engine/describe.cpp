#include <cmath>

#include "core/calendar.hpp"
#include "engine/alert.hpp"

namespace markerwatch::engine {

namespace {

std::string percent(double pct) {
  const double shown = std::fabs(pct) >= 10 ? std::round(pct) : std::round(pct * 10) / 10;
  return (shown >= 0 ? "+" : "") + format_quantity(shown) + "%";
}

std::string signed_quantity(double v) {
  return (v >= 0 ? "+" : "") + format_quantity(v);
}

std::string anchor_phrase(const std::optional<Anchor>& anchor) {
  if (!anchor) return " (before any therapy milestone)";
  return " after " + anchor->kind + " (" + format_day(anchor->day) + ")";
}

std::string series_name(const std::string& marker, const std::string& method) {
  return marker + (method.empty() ? "" : " [" + method + "]");
}

}  // namespace

bool same_state(const Alert& a, const Alert& b, bool ignore_resolution) {
  return a.identity == b.identity && a.anchor == b.anchor && a.rules == b.rules &&
         a.event_day == b.event_day && a.fire_day == b.fire_day && a.value == b.value &&
         a.unit == b.unit && a.confirmer == b.confirmer && a.baseline == b.baseline &&
         a.nadir == b.nadir && a.change_pct == b.change_pct && a.change_abs == b.change_abs &&
         a.doubling_time_days == b.doubling_time_days && a.severity == b.severity &&
         a.later_firings == b.later_firings &&
         (ignore_resolution || a.resolved_day == b.resolved_day);
}

std::string summarize(const Alert& a) {
  const std::string u = a.unit.empty() ? "" : " " + a.unit;
  const std::string rules = join_rules(a.rules, ", ");
  std::string s = series_name(a.identity.marker, a.identity.method);
  if (a.identity.cls == AlertClass::progression) {
    s += " rising" + anchor_phrase(a.anchor) + ": " + format_value(a.value) + u + " on " +
         format_day(a.event_day);
    if (a.nadir && a.change_pct)
      s += " is " + percent(*a.change_pct) + " (" + signed_quantity(*a.change_abs) + u +
           ") above the nadir " + format_value(*a.nadir) + " (" + format_day(a.nadir->day) + ")";
    else if (a.nadir && a.change_abs)
      s += " is " + signed_quantity(*a.change_abs) + u + " above the nadir " +
           format_value(*a.nadir) + " (" + format_day(a.nadir->day) + ")";
  } else {
    const bool nodecline = !a.rules.empty() && a.rules.front() == Rule::nodecline;
    s += std::string(nodecline ? " not declining" : " not normalised") + anchor_phrase(a.anchor) +
         ": " + format_value(a.value) + u + " on " + format_day(a.event_day);
    if (a.anchor) s += " (day " + std::to_string(a.event_day - a.anchor->day) + ")";
    if (a.baseline && a.change_pct)
      s += " is " + percent(*a.change_pct) + " (" + signed_quantity(*a.change_abs) + u +
           ") against the baseline " + format_value(*a.baseline) + " (" +
           format_day(a.baseline->day) + ")";
    if (nodecline) s += ", not even one halving";
  }
  if (a.confirmer)
    s += ", confirmed by " + format_value(*a.confirmer) + " on " + format_day(a.confirmer->day);
  if (a.doubling_time_days)
    s += "; doubling time " + format_quantity(std::round(*a.doubling_time_days)) + " d";
  if (!a.later_firings.empty()) {
    const auto& last = a.later_firings.back();
    s += "; " + std::to_string(a.later_firings.size()) + " later firing(s), the latest " +
         std::string(to_string(last.rule)) + " from " + format_day(last.event_day) +
         " confirmed on " + format_day(last.fire_day);
  }
  return s + " [" + rules + "]";
}

std::string summarize(const Note& n) {
  const std::string name = series_name(n.marker, n.method);
  const std::string value =
      n.value ? format_value(*n.value) + (n.unit.empty() ? "" : " " + n.unit) : "";
  const std::string anchor =
      n.anchor ? n.anchor->kind + " (" + format_day(n.anchor->day) + ")" : "no anchor";
  if (n.code == "method_change")
    return n.marker + ": first value of method group '" + n.method + "' on " + format_day(n.day) +
           ": method change, re-baselining";
  if (n.code == "flare_guard")
    return name + " " + value + " on " + format_day(n.day) + " is " +
           std::to_string(n.anchor ? n.day - n.anchor->day : 0) + " days after " + anchor +
           ", inside the " + format_quantity(n.figure) + "-day flare window: not a rise candidate";
  if (n.code == "vka_active")
    return std::string(to_string(*n.rule)) + " for " + name + " (" + value + " on " +
           format_day(*n.event_day) + ", fire date " + format_day(*n.fire_day) +
           ") suppressed: a vitamin K antagonist is active";
  if (n.code == "slow_decline")
    return name + " falling slowly after " + anchor + ": " + value + " on " + format_day(n.day) +
           " (day " + std::to_string(n.anchor ? n.day - n.anchor->day : 0) +
           "), apparent half-life " + format_quantity(std::round(n.figure * 10) / 10) + " d > " +
           format_quantity(n.limit) + " d, from baseline " + format_value(*n.baseline);
  if (n.code == "response")
    return name + " response after " + anchor + ": " + value + " on " + format_day(n.day) +
           " is a fall of " +
           (n.baseline && n.baseline->comparator != Comparator::none ? "at least " : "") +
           format_quantity(std::round(n.figure)) + "% from the baseline " +
           format_value(*n.baseline) + " (" + format_day(n.baseline->day) + ")";
  return name + ": " + n.code + " on " + format_day(n.day);
}

}  // namespace markerwatch::engine
