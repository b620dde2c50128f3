#include "engine/alert_json.hpp"

#include <stdexcept>

#include "core/calendar.hpp"

namespace markerwatch::engine {

using json = Json;

namespace {

json dated_json(const std::optional<DatedValue>& v) {
  if (!v) return nullptr;
  json j = {{"value", v->value}, {"date", format_day(v->day)}};
  if (v->comparator != Comparator::none) j["comparator"] = std::string(to_string(v->comparator));
  return j;
}

int day_of(const json& j) {
  auto d = day_number(j.get<std::string>());
  if (!d) throw std::invalid_argument("bad date in alert evidence");
  return *d;
}

std::optional<DatedValue> dated_from(const json& j) {
  if (j.is_null()) return std::nullopt;
  DatedValue v{j.at("value").get<double>(), Comparator::none, day_of(j.at("date"))};
  if (j.contains("comparator"))
    v.comparator =
        comparator_from_string(j.at("comparator").get<std::string>()).value_or(Comparator::none);
  return v;
}

template <typename T>
json optional_number(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

std::optional<double> optional_double(const json& j) {
  return j.is_null() ? std::nullopt : std::optional(j.get<double>());
}

json rules_json(const std::vector<Rule>& rules) {
  json out = json::array();
  for (auto r : rules) out.push_back(std::string(to_string(r)));
  return out;
}

Rule rule_of(const json& j) {
  auto r = rule_from_string(j.get<std::string>());
  if (!r) throw std::invalid_argument("unknown rule in alert evidence");
  return *r;
}

}  // namespace

json to_json(const Alert& a) {
  json later = json::array();
  for (const auto& f : a.later_firings)
    later.push_back({{"rule", std::string(to_string(f.rule))},
                     {"event_date", format_day(f.event_day)},
                     {"fire_date", format_day(f.fire_day)},
                     {"value", f.value.value},
                     {"comparator", std::string(to_string(f.value.comparator))}});
  return {
      {"marker", a.identity.marker},
      {"method", a.identity.method},
      {"class", std::string(to_string(a.identity.cls))},
      {"arm", a.identity.arm},
      {"rules", rules_json(a.rules)},
      {"event_date", format_day(a.event_day)},
      {"fire_date", format_day(a.fire_day)},
      {"severity", std::string(to_string(a.severity))},
      {"value", a.value.value},
      {"comparator", std::string(to_string(a.value.comparator))},
      {"unit", a.unit},
      {"confirmer", dated_json(a.confirmer)},
      {"anchor", a.anchor ? json{{"kind", a.anchor->kind},
                                 {"date", format_day(a.anchor->day)},
                                 {"curative", a.anchor->curative}}
                          : json(nullptr)},
      {"baseline", dated_json(a.baseline)},
      {"nadir", dated_json(a.nadir)},
      {"change_pct", optional_number(a.change_pct)},
      {"change_abs", optional_number(a.change_abs)},
      {"doubling_time_days", optional_number(a.doubling_time_days)},
      {"later_firings", later},
      {"resolved_date", a.resolved_day ? json(format_day(*a.resolved_day)) : json(nullptr)},
      {"summary", a.summary},
  };
}

Alert alert_from_json(const json& j) {
  Alert a;
  a.identity.marker = j.at("marker").get<std::string>();
  a.identity.method = j.at("method").get<std::string>();
  auto cls = alert_class_from_string(j.at("class").get<std::string>());
  if (!cls) throw std::invalid_argument("unknown class in alert evidence");
  a.identity.cls = *cls;
  a.identity.arm = j.at("arm").get<int>();
  for (const auto& r : j.at("rules")) a.rules.push_back(rule_of(r));
  a.event_day = day_of(j.at("event_date"));
  a.fire_day = day_of(j.at("fire_date"));
  a.severity = j.at("severity").get<std::string>() == "high" ? Severity::high : Severity::standard;
  a.value = {
      j.at("value").get<double>(),
      comparator_from_string(j.at("comparator").get<std::string>()).value_or(Comparator::none),
      a.event_day};
  a.unit = j.at("unit").get<std::string>();
  a.confirmer = dated_from(j.at("confirmer"));
  if (const auto& anchor = j.at("anchor"); !anchor.is_null()) {
    a.anchor = Anchor{anchor.at("kind").get<std::string>(), day_of(anchor.at("date")),
                      anchor.at("curative").get<bool>()};
    a.identity.anchor_day = a.anchor->day;
  }
  a.baseline = dated_from(j.at("baseline"));
  a.nadir = dated_from(j.at("nadir"));
  a.change_pct = optional_double(j.at("change_pct"));
  a.change_abs = optional_double(j.at("change_abs"));
  a.doubling_time_days = optional_double(j.at("doubling_time_days"));
  for (const auto& f : j.at("later_firings")) {
    const int event_day = day_of(f.at("event_date"));
    a.later_firings.push_back(
        {rule_of(f.at("rule")), event_day, day_of(f.at("fire_date")),
         DatedValue{f.at("value").get<double>(),
                    comparator_from_string(f.at("comparator").get<std::string>())
                        .value_or(Comparator::none),
                    event_day}});
  }
  if (const auto& r = j.at("resolved_date"); !r.is_null()) a.resolved_day = day_of(r);
  a.summary = j.at("summary").get<std::string>();
  return a;
}

json to_json(const Event& e, const std::string& patient) {
  json j = {{"event", std::string(to_string(e.type))},
            {"alert_id", e.alert ? json(e.alert_id) : json(nullptr)},
            {"patient_id", patient}};
  if (e.alert) {
    j.update(to_json(*e.alert));
    j["state"] = std::string(to_string(e.state));
    if (e.previous_severity) j["previous_severity"] = std::string(to_string(*e.previous_severity));
    return j;
  }
  const Note& n = *e.note;
  j["marker"] = n.marker;
  j["method"] = n.method;
  j["code"] = n.code;
  j["date"] = format_day(n.day);
  if (n.rule) {
    j["class"] = std::string(to_string(class_of(*n.rule)));
    j["rules"] = rules_json({*n.rule});
    j["event_date"] = format_day(*n.event_day);
    j["fire_date"] = format_day(*n.fire_day);
  }
  if (n.value) {
    j["value"] = n.value->value;
    j["comparator"] = std::string(to_string(n.value->comparator));
  }
  j["summary"] = n.summary;
  return j;
}

}  // namespace markerwatch::engine
