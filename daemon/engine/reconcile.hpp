#pragma once
// RULES.md §5 "Diff": what changed between the alerts already emitted and a fresh evaluation, as
// the events of the alert log. Pure; the caller persists the events (or prints them, in replay).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "engine/alert.hpp"

namespace markerwatch::engine {

enum class AlertState { open, acknowledged, resolved, retracted };
std::string_view to_string(AlertState s);
std::optional<AlertState> alert_state_from_string(std::string_view s);

struct TrackedAlert {
  std::int64_t id = 0;
  Alert alert;  // the state last emitted
  AlertState state = AlertState::open;
  bool resolved_by_person = false;  // a person's resolution: new data never reopens it
};

enum class EventType { new_alert, update, resolve, retract, suppressed, info };
std::string_view to_string(EventType t);  // "new", "update", ...

struct Event {
  EventType type = EventType::info;
  std::int64_t alert_id = 0;   // 0 for notes, and for a NEW until the caller assigns one
  std::optional<Alert> alert;  // the alert's complete current state
  AlertState state = AlertState::open;
  std::optional<Severity> previous_severity;  // UPDATE: what it was
  std::optional<Note> note;                   // INFO and SUPPRESSED
};

// `live`: the alerts of the evaluated markers that are not retracted. `note_logged` tells whether
// a note key is already in the log. Event order: retractions, then alerts in identity order (a NEW
// before the RESOLVE of the same alert), then new notes.
std::vector<Event> reconcile(const std::vector<TrackedAlert>& live, const Evaluation& evaluation,
                             const std::function<bool(const std::string&)>& note_logged);

// One patient's alerts and logged notes held in memory (replay).
class PatientAlerts {
 public:
  // Live alerts for these markers (every marker when empty).
  std::vector<TrackedAlert> live(const std::vector<std::string>& markers) const;
  bool note_logged(const std::string& key) const { return notes_.count(key) > 0; }
  // Gives each NEW alert (and the events that follow it) the next id from `next_id`, and records
  // the new states.
  void apply(std::vector<Event>& events, std::int64_t& next_id);
  const std::vector<TrackedAlert>& all() const { return alerts_; }

 private:
  std::vector<TrackedAlert> alerts_;  // every alert ever opened, retracted ones too
  std::unordered_set<std::string> notes_;
};

// Applies ids and states from events to the NEW and later events of the same batch: shared by the
// in-memory ledger and the database.
void link_new_alert_ids(std::vector<Event>& events, std::size_t index, std::int64_t id);

}  // namespace markerwatch::engine
