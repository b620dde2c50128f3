#include "store/alert_store.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

#include "core/calendar.hpp"
#include "core/errors.hpp"
#include "core/result_status.hpp"
#include "core/text.hpp"
#include "engine/alert_json.hpp"

namespace markerwatch::store {

namespace {

std::vector<std::string> split_markers(const std::string& joined) {
  std::vector<std::string> out;
  for (auto part : text::split(joined, ';'))
    if (!text::trim(part).empty()) out.emplace_back(text::trim(part));
  return out;
}

engine::Alert parse_evidence(std::string_view evidence) {
  return engine::alert_from_json(engine::Json::parse(evidence));
}

// `parsed`: the alert its evidence (column 3) gives, when the caller has it already.
AlertRow alert_row(const Statement& q, const engine::Alert* parsed = nullptr) {
  AlertRow row;
  row.id = q.int64(0);
  row.patient_id = q.text(1);
  row.state = engine::alert_state_from_string(q.text(2)).value_or(engine::AlertState::open);
  row.alert = parsed ? *parsed : parse_evidence(q.text_view(3));
  row.created_at = q.text(4);
  row.updated_at = q.text(5);
  row.acknowledged_by = q.text(6);
  row.resolved_by = q.text(7);
  return row;
}

// What the engine reads of a stored value (AlertStore::history reads them by position).
constexpr const char* kValueColumns =
    "marker, method, collected_date, value, comparator, unit, uln, obs_id, status";

// alert_row reads the first eight; the marker (8) lets a reader skip an alert before parsing its
// evidence, the costliest part of reading one.
constexpr const char* kAlertColumns =
    "a.id, p.identifier, a.state, a.evidence, a.created_at, a.updated_at, a.acknowledged_by, "
    "a.resolved_by, a.marker";

AlertEventRow event_row(const Statement& q) {
  AlertEventRow r;
  r.id = q.int64(0);
  if (!q.is_null(1)) r.alert_id = q.int64(1);
  r.patient_id = q.text(2);
  r.event = q.text(3);
  r.marker = q.text(4);
  r.at = q.text(5);
  r.cause = q.text(6);
  r.actor = q.text(7);
  r.detail = q.text(8);
  return r;
}

constexpr const char* kEventColumns =
    "e.id, e.alert_id, p.identifier, e.event, e.marker, e.at, e.cause, e.actor, e.detail";

}  // namespace

// The order is the series index's (schema 6), so SQLite reads it in order and sorts nothing; it is
// spelled out so that it does not depend on which index the planner picks.
std::string AlertStore::values_query(bool one_marker) {
  return std::string("SELECT ") + kValueColumns + " FROM results WHERE patient_id = ?1 AND " +
         (one_marker ? "marker = ?2 AND " : "") +
         "effective = 1 AND value IS NOT NULL ORDER BY marker, collected_date, id";
}

AlertStore::AlertStore(Database& db, SeriesCache* series)
    : db_(db),
      series_(series),
      select_values_(db.prepare(values_query(false))),
      select_series_values_(db.prepare(values_query(true))),
      select_milestones_(
          db.prepare("SELECT kind, date, end_date, markers FROM milestones WHERE patient_id = ?1 "
                     "ORDER BY date, id")),
      select_patient_(db.prepare("SELECT identifier FROM patients WHERE id = ?1")),
      select_live_(db.prepare(std::string("SELECT ") + kAlertColumns +
                              " FROM alerts a JOIN patients p ON p.id = a.patient_id "
                              "WHERE a.patient_id = ?1 AND a.state <> 'retracted'")),
      note_logged_(
          db.prepare("SELECT 1 FROM alert_events WHERE patient_id = ?1 AND note_key = ?2 LIMIT 1")),
      insert_alert_(db.prepare(
          "INSERT INTO alerts (patient_id, marker, method, class, anchor_kind, anchor_date, arm, "
          "state, severity, rules, event_date, fire_date, value, unit, resolved_date, evidence, "
          "summary, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
          "?, ?, ?, ?)")),
      update_alert_(db.prepare(
          "UPDATE alerts SET state = ?2, severity = ?3, rules = ?4, event_date = ?5, fire_date = "
          "?6, value = ?7, resolved_date = ?8, evidence = ?9, summary = ?10, updated_at = ?11 "
          "WHERE id = ?1")),
      insert_event_(db.prepare(
          "INSERT INTO alert_events (alert_id, patient_id, event, marker, note_key, at, cause, "
          "actor, detail) VALUES (?, ?, ?, ?, ?, ?, ?, 'engine', ?)")),
      select_alerts_(db.prepare(
          std::string("SELECT ") + kAlertColumns +
          " FROM alerts a JOIN patients p ON p.id = a.patient_id WHERE (?1 = '' OR a.state = ?1) "
          "AND (?2 = '' OR p.identifier = ?2) AND (?9 = '' OR p.authority = ?9) "
          "AND (?3 = '' OR a.marker = ?3) AND (?4 = '' OR "
          "a.severity = ?4) AND (?5 = '' OR a.fire_date >= ?5) AND (?6 = '' OR a.fire_date <= "
          "?6) ORDER BY a.fire_date, a.id LIMIT ?7 OFFSET ?8")),
      select_events_(db.prepare(std::string("SELECT ") + kEventColumns +
                                " FROM alert_events e JOIN patients p ON p.id = e.patient_id "
                                "WHERE e.alert_id = ?1 ORDER BY e.id")),
      select_alert_(db.prepare(std::string("SELECT ") + kAlertColumns +
                               " FROM alerts a JOIN patients p ON p.id = a.patient_id "
                               "WHERE a.id = ?1")),
      select_log_(db.prepare(std::string("SELECT ") + kEventColumns +
                             " FROM alert_events e JOIN patients p ON p.id = e.patient_id "
                             "WHERE (?1 = '' OR e.at >= ?1) AND (?2 = '' OR p.identifier = ?2) "
                             "AND (?4 = '' OR p.authority = ?4) ORDER BY e.id DESC LIMIT ?3")),
      set_person_state_(db.prepare(
          "UPDATE alerts SET state = ?2, acknowledged_by = CASE WHEN ?2 = 'acknowledged' THEN ?3 "
          "ELSE acknowledged_by END, resolved_by = CASE WHEN ?2 = 'resolved' THEN ?3 ELSE "
          "resolved_by END, updated_at = ?4 WHERE id = ?1")),
      insert_person_event_(db.prepare(
          "INSERT INTO alert_events (alert_id, patient_id, event, marker, at, cause, actor, "
          "detail) SELECT id, patient_id, ?2, marker, ?3, 'person', ?4, ?5 FROM alerts WHERE id = "
          "?1")) {}

engine::PatientHistory AlertStore::history(std::int64_t patient_id, const NewPatientRows* new_rows,
                                           const std::vector<std::string>& markers) {
  engine::PatientHistory h;
  read_by_series_ = {};
  select_patient_.bind(1, patient_id);
  if (select_patient_.step()) h.patient = select_patient_.text(0);
  select_patient_.reset();
  if (new_rows) {
    h.values = new_rows->values();
  } else {
    // Status, date and comparator are read in place: only what the engine keeps is copied.
    auto read_values = [&h](Statement& q) {
      while (q.step()) {
        auto status = status_from_string(q.text_view(8));
        auto day = day_number(q.text_view(2));
        if (!status || !counts_for_evaluation(*status) || !day) continue;
        h.values.push_back({q.text(0), q.text(1), *day, q.real(3),
                            comparator_from_string(q.text_view(4)).value_or(Comparator::none),
                            q.text(5), q.optional_real(6), q.text(7)});
      }
      q.reset();
    };
    if (markers.empty()) {
      select_values_.bind(1, patient_id);
      read_values(select_values_);
    } else {
      // One index range per series (results_by_series): the patient's other markers are not read.
      const bool series_current = series_ && series_->current();
      for (auto it = markers.begin(); it != markers.end(); ++it) {
        if (std::find(markers.begin(), it, *it) != it) continue;  // a series is read once
        if (auto kept = series_current ? series_->take(patient_id, *it) : std::nullopt) {
          if (h.values.empty())
            h.values = std::move(*kept);
          else
            h.values.insert(h.values.end(), std::make_move_iterator(kept->begin()),
                            std::make_move_iterator(kept->end()));
        } else {
          select_series_values_.bind(1, patient_id).bind(2, *it);
          read_values(select_series_values_);
        }
        if (series_current) read_by_series_.markers.push_back(*it);
      }
      if (series_current) {
        read_by_series_.patient_id = patient_id;
        read_by_series_.changes = db_.watched_changes();
      }
    }
  }
  auto& m = select_milestones_;
  m.bind(1, patient_id);
  while (m.step()) {
    engine::Milestone ms;
    ms.kind = m.text(0);
    ms.day = day_number(m.text(1)).value_or(0);
    if (auto end = m.text(2); !end.empty()) ms.end_day = day_number(end);
    ms.markers = split_markers(m.text(3));
    h.milestones.push_back(std::move(ms));
  }
  m.reset();
  return h;
}

void AlertStore::return_values(std::int64_t patient_id, std::vector<engine::Value>&& values) {
  auto read = std::exchange(read_by_series_, {});
  // Kept only while they are what the database holds: nothing changed the results since.
  if (read.markers.empty() || read.patient_id != patient_id ||
      read.changes != db_.watched_changes() || !series_->current())
    return;
  // history() read each series whole, one after the other: each is the run of its marker.
  auto from = values.begin();
  for (const auto& marker : read.markers) {
    auto to = std::find_if(from, values.end(), [&](const auto& v) { return v.marker != marker; });
    if (from == values.begin() && to == values.end()) {
      series_->keep(patient_id, marker, std::move(values));
      return;
    }
    series_->keep(patient_id, marker, {std::make_move_iterator(from), std::make_move_iterator(to)});
    from = to;
  }
}

std::vector<engine::TrackedAlert> AlertStore::live(std::int64_t patient_id,
                                                   const std::vector<std::string>& markers) {
  std::vector<engine::TrackedAlert> out;
  select_live_.bind(1, patient_id);
  while (select_live_.step()) {
    if (!markers.empty() &&
        std::find(markers.begin(), markers.end(), select_live_.text_view(8)) == markers.end())
      continue;
    auto row =
        alert_row(select_live_, &parsed_evidence(select_live_.int64(0), select_live_.text_view(3)));
    const bool by_person = row.state == engine::AlertState::resolved && !row.resolved_by.empty();
    out.push_back({row.id, std::move(row.alert), row.state, by_person});
  }
  select_live_.reset();
  // Ordered here: a patient has a few alerts, and ORDER BY in SQL cost a sorter on every
  // evaluation (there is no index by patient and id).
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

const engine::Alert& AlertStore::parsed_evidence(std::int64_t alert_id, std::string_view evidence) {
  if (auto it = parsed_.find(alert_id); it != parsed_.end() && it->second.evidence == evidence)
    return it->second.alert;
  return remember_evidence(alert_id, evidence, parse_evidence(evidence));
}

const engine::Alert& AlertStore::remember_evidence(std::int64_t alert_id, std::string_view evidence,
                                                   engine::Alert alert) {
  if (auto it = parsed_.find(alert_id); it != parsed_.end()) {
    parsed_bytes_ -= it->second.evidence.size();
    parsed_.erase(it);
  }
  // Bounded: dropped whole when full (the next evaluations parse their alerts again).
  if (parsed_bytes_ + evidence.size() > kParsedEvidenceBytes) {
    parsed_.clear();
    parsed_bytes_ = 0;
  }
  parsed_bytes_ += evidence.size();
  return parsed_.try_emplace(alert_id, ParsedEvidence{std::string(evidence), std::move(alert)})
      .first->second.alert;
}

bool AlertStore::note_logged(std::int64_t patient_id, const std::string& key) {
  note_logged_.bind(1, patient_id).bind(2, key);
  const bool found = note_logged_.step();
  note_logged_.reset();
  return found;
}

std::vector<std::int64_t> AlertStore::record(std::int64_t patient_id,
                                             const std::string& patient_identifier,
                                             std::vector<engine::Event>& events,
                                             const std::string& cause, const std::string& now) {
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto& e = events[i];
    std::string evidence;  // the alert's state, stored with it and embedded in the log's detail
    if (e.alert) {
      const auto& a = *e.alert;
      const std::string state(engine::to_string(e.state));
      const std::string severity(engine::to_string(a.severity));
      const std::string rules = engine::join_rules(a.rules);
      const std::string event_date = format_day(a.event_day), fire_date = format_day(a.fire_day);
      evidence = engine::alert_json_text(a);
      std::optional<std::string> resolved;
      if (a.resolved_day) resolved = format_day(*a.resolved_day);
      if (e.type == engine::EventType::new_alert) {
        const std::string cls(engine::to_string(a.identity.cls));
        const std::string anchor_kind = a.anchor ? a.anchor->kind : "";
        const std::string anchor_date = a.anchor ? format_day(a.anchor->day) : "";
        insert_alert_.bind(1, patient_id)
            .bind(2, a.identity.marker)
            .bind(3, a.identity.method)
            .bind(4, cls)
            .bind(5, anchor_kind)
            .bind(6, anchor_date)
            .bind(7, a.identity.arm)
            .bind(8, state)
            .bind(9, severity)
            .bind(10, rules)
            .bind(11, event_date)
            .bind(12, fire_date)
            .bind(13, a.value.value)
            .bind(14, a.unit);
        if (resolved)
          insert_alert_.bind(15, *resolved);
        else
          insert_alert_.bind_null(15);
        insert_alert_.bind(16, evidence).bind(17, a.summary).bind(18, now).bind(19, now).run();
        engine::link_new_alert_ids(events, i, db_.last_insert_id());
        remember_evidence(e.alert_id, evidence, a);
      } else {
        update_alert_.bind(1, e.alert_id)
            .bind(2, state)
            .bind(3, severity)
            .bind(4, rules)
            .bind(5, event_date)
            .bind(6, fire_date)
            .bind(7, a.value.value);
        if (resolved)
          update_alert_.bind(8, *resolved);
        else
          update_alert_.bind_null(8);
        update_alert_.bind(9, evidence).bind(10, a.summary).bind(11, now).run();
        remember_evidence(e.alert_id, evidence, a);
      }
    }
    const std::string detail =
        engine::event_json_text(e, patient_identifier, e.alert ? &evidence : nullptr);
    const std::string type(engine::to_string(e.type));
    const std::string marker = e.alert ? e.alert->identity.marker : e.note->marker;
    if (e.alert)
      insert_event_.bind(1, e.alert_id);
    else
      insert_event_.bind_null(1);
    insert_event_.bind(2, patient_id).bind(3, type).bind(4, marker);
    if (e.note)
      insert_event_.bind(5, e.note->key);
    else
      insert_event_.bind_null(5);
    insert_event_.bind(6, now).bind(7, cause).bind(8, detail).run();
    ids.push_back(db_.last_insert_id());
  }
  return ids;
}

engine::Json to_json(const AlertRow& r) {
  engine::Json j = {{"alert_id", r.id},
                    {"patient_id", r.patient_id},
                    {"state", std::string(engine::to_string(r.state))}};
  j.update(engine::to_json(r.alert));
  j["created_at"] = r.created_at;
  j["updated_at"] = r.updated_at;
  j["acknowledged_by"] = r.acknowledged_by;
  j["resolved_by"] = r.resolved_by;
  return j;
}

engine::Json to_json(const AlertEventRow& e) {
  engine::Json j = {{"id", e.id}, {"at", e.at}, {"actor", e.actor}, {"cause", e.cause}};
  j.update(engine::Json::parse(e.detail));
  return j;
}

std::vector<AlertRow> AlertStore::alerts(const AlertFilter& f) {
  std::vector<AlertRow> out;
  const auto patient = split_patient_key(f.patient);
  select_alerts_.bind(1, f.state)
      .bind(2, patient.id)
      .bind(9, patient.authority)
      .bind(3, f.marker)
      .bind(4, f.severity)
      .bind(5, f.since)
      .bind(6, f.until)
      .bind(7, f.limit)
      .bind(8, f.offset);
  while (select_alerts_.step()) out.push_back(alert_row(select_alerts_));
  select_alerts_.reset();
  return out;
}

std::optional<AlertRow> AlertStore::alert(std::int64_t id) {
  std::optional<AlertRow> out;
  select_alert_.bind(1, id);
  if (select_alert_.step()) out = alert_row(select_alert_);
  select_alert_.reset();
  return out;
}

std::vector<AlertEventRow> AlertStore::events_of(std::int64_t alert_id) {
  std::vector<AlertEventRow> out;
  select_events_.bind(1, alert_id);
  while (select_events_.step()) out.push_back(event_row(select_events_));
  select_events_.reset();
  return out;
}

std::vector<AlertEventRow> AlertStore::log(const std::string& since, const std::string& patient,
                                           int limit) {
  std::vector<AlertEventRow> out;
  const auto key = split_patient_key(patient);
  select_log_.bind(1, since).bind(2, key.id).bind(3, limit).bind(4, key.authority);
  while (select_log_.step()) out.push_back(event_row(select_log_));
  select_log_.reset();
  return out;
}

std::int64_t AlertStore::person_action(std::int64_t alert_id, const std::string& action,
                                       const std::string& by, const std::string& note,
                                       const std::string& now, engine::Event& event_out) {
  auto row = alert(alert_id);
  if (!row) throw InputError("no alert with id " + std::to_string(alert_id));
  if (row->state == engine::AlertState::retracted || row->state == engine::AlertState::resolved)
    throw InputError("alert " + std::to_string(alert_id) + " is already " +
                     std::string(engine::to_string(row->state)));
  if (action == "acknowledge" && row->state == engine::AlertState::acknowledged)
    throw InputError("alert " + std::to_string(alert_id) + " is already acknowledged by " +
                     row->acknowledged_by);
  const auto state =
      action == "acknowledge" ? engine::AlertState::acknowledged : engine::AlertState::resolved;
  const std::string state_text(engine::to_string(state));
  set_person_state_.bind(1, alert_id).bind(2, state_text).bind(3, by).bind(4, now).run();
  event_out = {};
  event_out.type = engine::EventType::resolve;
  event_out.alert_id = alert_id;
  event_out.alert = row->alert;
  event_out.alert->summary = engine::summarize(row->alert);
  event_out.state = state;
  auto detail = engine::to_json(event_out, row->patient_id);
  detail["event"] = action;
  detail["by"] = by;
  detail["note"] = note;
  const auto text = detail.dump();
  insert_person_event_.bind(1, alert_id)
      .bind(2, action)
      .bind(3, now)
      .bind(4, by)
      .bind(5, text)
      .run();
  return db_.last_insert_id();
}

}  // namespace markerwatch::store
