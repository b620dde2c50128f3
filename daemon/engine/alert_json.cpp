#include "engine/alert_json.hpp"

#include <stdexcept>

#include "core/calendar.hpp"
#include "engine/json_writer.hpp"

namespace markerwatch::engine {

using json = Json;

namespace {

void write_dated(JsonWriter& w, const std::optional<DatedValue>& v) {
  if (!v) {
    w.null();
    return;
  }
  w.begin_object().key("value").number(v->value).key("date").string(format_day(v->day));
  if (v->comparator != Comparator::none) w.key("comparator").string(to_string(v->comparator));
  w.end_object();
}

void write_optional(JsonWriter& w, const std::optional<double>& v) {
  if (v)
    w.number(*v);
  else
    w.null();
}

void write_rules(JsonWriter& w, const std::vector<Rule>& rules) {
  w.begin_array();
  for (auto r : rules) w.string(to_string(r));
  w.end_array();
}

// The alert's members, inside an object the caller opened.
void write_alert_members(JsonWriter& w, const Alert& a) {
  w.key("marker").string(a.identity.marker);
  w.key("method").string(a.identity.method);
  w.key("class").string(to_string(a.identity.cls));
  w.key("arm").integer(a.identity.arm);
  w.key("rules");
  write_rules(w, a.rules);
  w.key("event_date").string(format_day(a.event_day));
  w.key("fire_date").string(format_day(a.fire_day));
  w.key("severity").string(to_string(a.severity));
  w.key("value").number(a.value.value);
  w.key("comparator").string(to_string(a.value.comparator));
  w.key("unit").string(a.unit);
  w.key("confirmer");
  write_dated(w, a.confirmer);
  w.key("anchor");
  if (a.anchor)
    w.begin_object()
        .key("kind")
        .string(a.anchor->kind)
        .key("date")
        .string(format_day(a.anchor->day))
        .key("curative")
        .boolean(a.anchor->curative)
        .end_object();
  else
    w.null();
  w.key("baseline");
  write_dated(w, a.baseline);
  w.key("nadir");
  write_dated(w, a.nadir);
  w.key("change_pct");
  write_optional(w, a.change_pct);
  w.key("change_abs");
  write_optional(w, a.change_abs);
  w.key("doubling_time_days");
  write_optional(w, a.doubling_time_days);
  w.key("later_firings").begin_array();
  for (const auto& f : a.later_firings)
    w.begin_object()
        .key("rule")
        .string(to_string(f.rule))
        .key("event_date")
        .string(format_day(f.event_day))
        .key("fire_date")
        .string(format_day(f.fire_day))
        .key("value")
        .number(f.value.value)
        .key("comparator")
        .string(to_string(f.value.comparator))
        .end_object();
  w.end_array();
  w.key("resolved_date");
  if (a.resolved_day)
    w.string(format_day(*a.resolved_day));
  else
    w.null();
  w.key("summary").string(a.summary);
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

std::optional<double> optional_double(const json& j) {
  return j.is_null() ? std::nullopt : std::optional(j.get<double>());
}

Rule rule_of(const json& j) {
  auto r = rule_from_string(j.get<std::string>());
  if (!r) throw std::invalid_argument("unknown rule in alert evidence");
  return *r;
}

}  // namespace

std::string alert_json_text(const Alert& a) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  write_alert_members(w, a);
  w.end_object();
  return out;
}

json to_json(const Alert& a) {
  return json::parse(alert_json_text(a));
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

std::string event_json_text(const Event& e, const std::string& patient,
                            const std::string* alert_text,
                            std::pair<std::size_t, std::size_t>* alert_id_at) {
  std::string out;
  out.reserve(1024);
  append_event_json(out, e, patient, alert_text, alert_id_at);
  return out;
}

void append_event_json(std::string& out, const Event& e, const std::string& patient,
                       const std::string* alert_text,
                       std::pair<std::size_t, std::size_t>* alert_id_at) {
  const auto start = out.size();
  JsonWriter w(out);
  w.begin_object().key("event").string(to_string(e.type)).key("alert_id");
  if (alert_id_at) *alert_id_at = {0, 0};
  if (e.alert) {
    const auto at = out.size();
    w.integer(e.alert_id);
    if (alert_id_at) *alert_id_at = {at - start, out.size() - at};
  } else {
    w.null();
  }
  w.key("patient_id").string(patient);
  if (e.alert) {
    if (alert_text)
      w.members_of(*alert_text);
    else
      write_alert_members(w, *e.alert);
    w.key("state").string(to_string(e.state));
    if (e.previous_severity) w.key("previous_severity").string(to_string(*e.previous_severity));
    w.end_object();
    return;
  }
  const Note& n = *e.note;
  w.key("marker").string(n.marker).key("method").string(n.method).key("code").string(n.code);
  w.key("date").string(format_day(n.day));
  if (n.rule) {
    w.key("class").string(to_string(class_of(*n.rule))).key("rules");
    write_rules(w, {*n.rule});
    w.key("event_date").string(format_day(*n.event_day));
    w.key("fire_date").string(format_day(*n.fire_day));
  }
  if (n.value)
    w.key("value").number(n.value->value).key("comparator").string(to_string(n.value->comparator));
  w.key("summary").string(n.summary);
  w.end_object();
}

json to_json(const Event& e, const std::string& patient) {
  return json::parse(event_json_text(e, patient));
}

}  // namespace markerwatch::engine
