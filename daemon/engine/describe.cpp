#include <charconv>
#include <cmath>
#include <string_view>

#include "core/calendar.hpp"
#include "engine/alert.hpp"

namespace markerwatch::engine {

namespace {

// The sentences are built for every emitted event: each is appended to one string piece by
// piece instead of being concatenated from temporaries.
class Sentence {
 public:
  Sentence& operator<<(std::string_view text) {
    s_.append(text);
    return *this;
  }
  Sentence& operator<<(const char* text) { return *this << std::string_view(text); }
  Sentence& operator<<(const std::string& text) { return *this << std::string_view(text); }
  Sentence& operator<<(int number) {
    char digits[16];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, number);
    s_.append(digits, end);
    return *this;
  }
  Sentence& quantity(double v) { return *this << format_quantity(v); }
  Sentence& value(const DatedValue& v) { return *this << format_value(v); }
  Sentence& day(int d) { return *this << format_day(d); }
  Sentence& percent(double pct) {
    const double shown = std::fabs(pct) >= 10 ? std::round(pct) : std::round(pct * 10) / 10;
    return (shown >= 0 ? *this << "+" : *this).quantity(shown) << "%";
  }
  Sentence& signed_quantity(double v) { return (v >= 0 ? *this << "+" : *this).quantity(v); }
  Sentence& anchor_phrase(const std::optional<Anchor>& anchor) {
    if (!anchor) return *this << " (before any therapy milestone)";
    return (*this << " after " << anchor->kind << " (").day(anchor->day) << ")";
  }
  Sentence& series_name(const std::string& marker, const std::string& method) {
    *this << marker;
    return method.empty() ? *this : *this << " [" << method << "]";
  }
  std::string text() && { return std::move(s_); }

 private:
  std::string s_;
};

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
  Sentence s;
  s.series_name(a.identity.marker, a.identity.method);
  if (a.identity.cls == AlertClass::progression) {
    (s << " rising").anchor_phrase(a.anchor) << ": ";
    (s.value(a.value) << u << " on ").day(a.event_day);
    if (a.nadir && a.change_pct) {
      (s << " is ").percent(*a.change_pct) << " (";
      s.signed_quantity(*a.change_abs) << u << ") above the nadir ";
      (s.value(*a.nadir) << " (").day(a.nadir->day) << ")";
    } else if (a.nadir && a.change_abs) {
      (s << " is ").signed_quantity(*a.change_abs) << u << " above the nadir ";
      (s.value(*a.nadir) << " (").day(a.nadir->day) << ")";
    }
  } else {
    const bool nodecline = !a.rules.empty() && a.rules.front() == Rule::nodecline;
    (s << (nodecline ? " not declining" : " not normalised")).anchor_phrase(a.anchor) << ": ";
    (s.value(a.value) << u << " on ").day(a.event_day);
    if (a.anchor) s << " (day " << a.event_day - a.anchor->day << ")";
    if (a.baseline && a.change_pct) {
      (s << " is ").percent(*a.change_pct) << " (";
      s.signed_quantity(*a.change_abs) << u << ") against the baseline ";
      (s.value(*a.baseline) << " (").day(a.baseline->day) << ")";
    }
    if (nodecline) s << ", not even one halving";
  }
  if (a.confirmer) ((s << ", confirmed by ").value(*a.confirmer) << " on ").day(a.confirmer->day);
  if (a.doubling_time_days)
    (s << "; doubling time ").quantity(std::round(*a.doubling_time_days)) << " d";
  if (!a.later_firings.empty()) {
    const auto& last = a.later_firings.back();
    s << "; " << static_cast<int>(a.later_firings.size()) << " later firing(s), the latest "
      << to_string(last.rule) << " from ";
    (s.day(last.event_day) << " confirmed on ").day(last.fire_day);
  }
  s << " [" << join_rules(a.rules, ", ") << "]";
  return std::move(s).text();
}

std::string summarize(const Note& n) {
  Sentence s;
  auto name = [&]() -> Sentence& { return s.series_name(n.marker, n.method); };
  auto value = [&]() -> Sentence& {
    if (!n.value) return s;
    s.value(*n.value);
    return n.unit.empty() ? s : s << " " << n.unit;
  };
  auto anchor = [&]() -> Sentence& {
    if (!n.anchor) return s << "no anchor";
    return (s << n.anchor->kind << " (").day(n.anchor->day) << ")";
  };
  const int days_after_anchor = n.anchor ? n.day - n.anchor->day : 0;
  if (n.code == "method_change") {
    (s << n.marker << ": first value of method group '" << n.method << "' on ").day(n.day)
        << ": method change, re-baselining";
  } else if (n.code == "flare_guard") {
    name() << " ";
    value() << " on ";
    s.day(n.day) << " is " << days_after_anchor << " days after ";
    anchor() << ", inside the ";
    s.quantity(n.figure) << "-day flare window: not a rise candidate";
  } else if (n.code == "vka_active") {
    s << to_string(*n.rule) << " for ";
    name() << " (";
    value() << " on ";
    (s.day(*n.event_day) << ", fire date ").day(*n.fire_day)
        << ") suppressed: a vitamin K antagonist is active";
  } else if (n.code == "slow_decline") {
    name() << " falling slowly after ";
    anchor() << ": ";
    value() << " on ";
    s.day(n.day) << " (day " << days_after_anchor << "), apparent half-life ";
    s.quantity(std::round(n.figure * 10) / 10) << " d > ";
    s.quantity(n.limit) << " d, from baseline ";
    s.value(*n.baseline);
  } else if (n.code == "response") {
    name() << " response after ";
    anchor() << ": ";
    value() << " on ";
    s.day(n.day) << " is a fall of "
                 << (n.baseline && n.baseline->comparator != Comparator::none ? "at least " : "");
    s.quantity(std::round(n.figure)) << "% from the baseline ";
    (s.value(*n.baseline) << " (").day(n.baseline->day) << ")";
  } else {
    name() << ": " << n.code << " on ";
    s.day(n.day);
  }
  return std::move(s).text();
}

}  // namespace markerwatch::engine
