#include "engine/reconcile.hpp"

#include <algorithm>

namespace markerwatch::engine {

std::string_view to_string(AlertState s) {
  switch (s) {
    case AlertState::open:
      return "open";
    case AlertState::acknowledged:
      return "acknowledged";
    case AlertState::resolved:
      return "resolved";
    case AlertState::retracted:
      return "retracted";
  }
  return "open";
}

std::optional<AlertState> alert_state_from_string(std::string_view s) {
  for (auto st :
       {AlertState::open, AlertState::acknowledged, AlertState::resolved, AlertState::retracted})
    if (to_string(st) == s) return st;
  return std::nullopt;
}

std::string_view to_string(EventType t) {
  switch (t) {
    case EventType::new_alert:
      return "new";
    case EventType::update:
      return "update";
    case EventType::resolve:
      return "resolve";
    case EventType::retract:
      return "retract";
    case EventType::suppressed:
      return "suppressed";
    case EventType::info:
      return "info";
  }
  return "info";
}

namespace {

Event alert_event(EventType type, std::int64_t id, const Alert& a, AlertState state) {
  Event e;
  e.type = type;
  e.alert_id = id;
  e.alert = a;
  e.state = state;
  return e;
}

}  // namespace

std::vector<Event> reconcile(const std::vector<TrackedAlert>& live, const Evaluation& evaluation,
                             const std::function<bool(const std::string&)>& note_logged) {
  std::vector<Event> events;
  std::map<AlertIdentity, const Alert*> wanted;
  for (const auto& a : evaluation.alerts) wanted.emplace(a.identity, &a);
  std::map<AlertIdentity, const TrackedAlert*> current;
  for (const auto& t : live) {
    if (t.state == AlertState::retracted) continue;
    current.emplace(t.alert.identity, &t);
    if (!wanted.count(t.alert.identity))
      events.push_back(alert_event(EventType::retract, t.id, t.alert, AlertState::retracted));
  }
  for (const auto& [identity, a] : wanted) {
    auto it = current.find(identity);
    if (it == current.end()) {
      events.push_back(alert_event(EventType::new_alert, 0, *a, AlertState::open));
      if (a->resolved_day)
        events.push_back(alert_event(EventType::resolve, 0, *a, AlertState::resolved));
      continue;
    }
    const TrackedAlert& t = *it->second;
    const bool content_changed = !same_state(*a, t.alert, true);
    auto update = [&, &wanted_alert = *a](AlertState state) {
      auto e = alert_event(EventType::update, t.id, wanted_alert, state);
      e.previous_severity = t.alert.severity;
      events.push_back(std::move(e));
    };
    if (t.resolved_by_person) {
      // Closed by a person: later data is recorded (UPDATE) but does not reopen it.
      if (!same_state(*a, t.alert, true)) update(AlertState::resolved);
    } else if (a->resolved_day && t.state != AlertState::resolved) {
      if (content_changed) update(t.state);
      events.push_back(alert_event(EventType::resolve, t.id, *a, AlertState::resolved));
    } else if (!a->resolved_day && t.state == AlertState::resolved) {
      update(AlertState::open);  // new data undid the resolution
    } else if (!same_state(*a, t.alert)) {
      update(t.state);
    }
  }
  for (const auto& n : evaluation.notes) {
    if (note_logged(n.key)) continue;
    Event e;
    e.type = n.kind == NoteKind::suppressed ? EventType::suppressed : EventType::info;
    e.note = n;
    e.note->summary = summarize(n);
    events.push_back(std::move(e));
  }
  // Texts only for what is emitted: most evaluations change nothing.
  for (auto& e : events)
    if (e.alert) e.alert->summary = summarize(*e.alert);
  return events;
}

void link_new_alert_ids(std::vector<Event>& events, std::size_t index, std::int64_t id) {
  const auto identity = events[index].alert->identity;
  for (std::size_t i = index; i < events.size(); ++i)
    if (events[i].alert && events[i].alert_id == 0 && events[i].alert->identity == identity)
      events[i].alert_id = id;
}

std::vector<TrackedAlert> PatientAlerts::live(const std::vector<std::string>& markers) const {
  std::vector<TrackedAlert> out;
  for (const auto& t : alerts_)
    if (t.state != AlertState::retracted &&
        (markers.empty() ||
         std::find(markers.begin(), markers.end(), t.alert.identity.marker) != markers.end()))
      out.push_back(t);
  return out;
}

void PatientAlerts::apply(std::vector<Event>& events, std::int64_t& next_id) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto& e = events[i];
    if (e.note) {
      notes_.insert(e.note->key);
      continue;
    }
    if (e.type == EventType::new_alert) {
      link_new_alert_ids(events, i, next_id++);
      alerts_.push_back({e.alert_id, *e.alert, e.state});
      continue;
    }
    for (auto& t : alerts_)
      if (t.id == e.alert_id) {
        t.alert = *e.alert;
        t.state = e.state;
      }
  }
}

}  // namespace markerwatch::engine
