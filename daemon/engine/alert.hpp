#pragma once
// What the engine concludes (RULES.md §5, §7): alerts with their complete current state, and the
// notes (INFO, SUPPRESSED) worth one line in the alert log.
#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/numeric_value.hpp"

namespace markerwatch::engine {

enum class Rule { rise, renorm, absolute, nodecline, nonorm };
std::string_view to_string(Rule r);  // "R_RISE", ...
std::optional<Rule> rule_from_string(std::string_view s);

enum class AlertClass { progression, residual };
std::string_view to_string(AlertClass c);
std::optional<AlertClass> alert_class_from_string(std::string_view s);
AlertClass class_of(Rule r);
// "R_RISE,R_RENORM" (or with another separator).
std::string join_rules(const std::vector<Rule>& rules, std::string_view separator = ",");

enum class Severity { standard, high };
std::string_view to_string(Severity s);

struct DatedValue {
  double value = 0.0;
  Comparator comparator = Comparator::none;
  int day = 0;
  bool operator==(const DatedValue&) const = default;
};

struct Anchor {
  std::string kind;  // the collapsed anchor's kinds joined by '+', e.g. "systemic_start+haic_start"
  int day = 0;
  bool curative = false;
  bool operator==(const Anchor&) const = default;
};

struct LaterFiring {
  Rule rule = Rule::rise;
  int event_day = 0;
  int fire_day = 0;
  DatedValue value;
  bool operator==(const LaterFiring&) const = default;
};

// RULES.md E9: at most one alert per identity.
struct AlertIdentity {
  std::string marker;
  std::string method;
  AlertClass cls = AlertClass::progression;
  std::optional<int> anchor_day;  // nullopt: the episode before the first anchor
  int arm = 0;
  auto operator<=>(const AlertIdentity&) const = default;
  bool operator==(const AlertIdentity&) const = default;
};

struct Alert {
  AlertIdentity identity;
  std::optional<Anchor> anchor;
  std::vector<Rule> rules;
  int event_day = 0;
  int fire_day = 0;
  DatedValue value;  // the candidate
  std::string unit;
  std::optional<DatedValue> confirmer;
  std::optional<DatedValue> baseline;
  std::optional<DatedValue> nadir;
  std::optional<double> change_pct;
  std::optional<double> change_abs;
  std::optional<double> doubling_time_days;
  Severity severity = Severity::standard;
  std::vector<LaterFiring> later_firings;
  std::optional<int> resolved_day;  // the second of two consecutive normal values
  std::string summary;              // filled by summarize() when an event carries the alert
  bool operator==(const Alert&) const = default;
};

// Equal in everything but the summary (which is derived from the rest) and, when asked, the
// resolution.
bool same_state(const Alert& a, const Alert& b, bool ignore_resolution = false);

// The one-line texts people read. Built only for what is emitted: evaluation runs far more often.
std::string summarize(const Alert& a);

enum class NoteKind { info, suppressed };
std::string_view to_string(NoteKind k);

struct Note {
  NoteKind kind = NoteKind::info;
  std::string code;  // method_change, flare_guard, slow_decline, response, vka_active
  std::string marker;
  std::string method;
  int day = 0;
  std::string key;           // stable identity: a note is logged once
  std::string summary;       // filled by summarize() when the note is emitted
  std::optional<Rule> rule;  // suppressed firings
  std::optional<int> event_day, fire_day;
  std::optional<DatedValue> value;
  std::string unit;
  std::optional<Anchor> anchor;
  std::optional<DatedValue> baseline;
  double figure =
      0.0;  // flare_guard: window days; slow_decline: apparent half-life; response: fall %
  double limit = 0.0;  // slow_decline: the marker's half-life
};

std::string summarize(const Note& n);

struct Evaluation {
  std::vector<Alert> alerts;  // ordered by identity
  std::vector<Note> notes;    // ordered by day
};

// Quantities as people read them: up to 4 decimals, no trailing zeros ("29.37", "340", "0.2").
std::string format_quantity(double v);
std::string format_value(const DatedValue& v);  // with the comparator: ">35000"

}  // namespace markerwatch::engine
