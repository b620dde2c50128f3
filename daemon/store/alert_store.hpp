#pragma once
// Typed access to what the engine reads (a patient's effective values and milestones) and writes
// (alerts and the alert log). Every query is by patient through an index: evaluation cost follows
// the patient's history, never the size of the database.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/alert_json.hpp"
#include "engine/history.hpp"
#include "engine/reconcile.hpp"
#include "store/database.hpp"
#include "store/new_patient_rows.hpp"
#include "store/series_cache.hpp"

namespace markerwatch::store {

struct AlertRow {
  std::int64_t id = 0;
  std::string patient_id;  // the identifier
  engine::Alert alert;
  engine::AlertState state = engine::AlertState::open;
  std::string created_at, updated_at;
  std::string acknowledged_by, resolved_by;
};

struct AlertFilter {
  std::string state;  // "" = any
  std::string patient;
  std::string marker;
  std::string severity;      // "" = any
  std::string since, until;  // fire date range (YYYY-MM-DD), "" = open
  int limit = 1000000;
  int offset = 0;
};

struct AlertEventRow {
  std::int64_t id = 0;
  std::optional<std::int64_t> alert_id;
  std::string patient_id, event, marker, at, cause, actor, detail;
};

// The machine form of a stored alert (CLI --format json and the HTTP API): its identity, state,
// people, times and complete evidence.
engine::Json to_json(const AlertRow& row);
// One alert-log entry: id, time, actor, cause and the event's detail.
engine::Json to_json(const AlertEventRow& row);

class AlertStore {
 public:
  // `series`, when given, answers history's reads of series it keeps, and keeps those it reads.
  explicit AlertStore(Database& db, SeriesCache* series = nullptr);

  // What history() runs to read the values of one series (`one_marker`) or of every marker of a
  // patient: named here so a test can hold them to the plan schema 6 gives them (the series
  // index alone, no table row per value).
  static std::string values_query(bool one_marker);

  // The patient's effective values that count (E3) and milestones, for the engine. With
  // `new_rows` (a patient created in this transaction), the values are taken from them. Values
  // read from the database are those of `markers` only (every marker when empty), one index range
  // per marker: the engine skips the others of an evaluation scoped to these markers.
  engine::PatientHistory history(std::int64_t patient_id, const NewPatientRows* new_rows = nullptr,
                                 const std::vector<std::string>& markers = {});
  // The values history() just gave for the patient, once evaluated: with a SeriesCache, the series
  // it read are kept for the next evaluation (unless the results changed since).
  void return_values(std::int64_t patient_id, std::vector<engine::Value>&& values);
  // Alerts of the patient that are not retracted, for these markers (every marker when empty).
  std::vector<engine::TrackedAlert> live(std::int64_t patient_id,
                                         const std::vector<std::string>& markers);
  bool note_logged(std::int64_t patient_id, const std::string& key);
  // Writes the events: NEW inserts the alert (its id is set on the event and those that follow),
  // the others update it; every event is appended to the alert log. Returns the log rows' ids.
  std::vector<std::int64_t> record(std::int64_t patient_id, const std::string& patient_identifier,
                                   std::vector<engine::Event>& events, const std::string& cause,
                                   const std::string& now);

  std::vector<AlertRow> alerts(const AlertFilter& filter);
  std::optional<AlertRow> alert(std::int64_t id);
  std::vector<AlertEventRow> events_of(std::int64_t alert_id);
  // The alert log, newest first: events at or after `since` (ISO time or date, "" = all), of one
  // patient ("" = all).
  std::vector<AlertEventRow> log(const std::string& since, const std::string& patient, int limit);

  // A person acknowledges or resolves an alert: its state, who, and an alert-log event with the
  // note. Returns the event's id. Throws InputError when the alert cannot take that action.
  std::int64_t person_action(std::int64_t alert_id, const std::string& action,
                             const std::string& by, const std::string& note, const std::string& now,
                             engine::Event& event_out);

 private:
  // The alert a live alert's evidence JSON gives. Parsing it is most of an evaluation's cost for
  // a patient with alerts, and most evaluations find the evidence as it was: each alert's last
  // state is kept with the text it was parsed from (or, by record, written as: the evidence
  // reads back as the alert it was written from), and reused only for that same text.
  const engine::Alert& parsed_evidence(std::int64_t alert_id, std::string_view evidence);
  const engine::Alert& remember_evidence(std::int64_t alert_id, std::string_view evidence,
                                         engine::Alert alert);
  struct ParsedEvidence {
    std::string evidence;
    engine::Alert alert;
  };
  static constexpr std::size_t kParsedEvidenceBytes = 4 << 20;  // of evidence text kept
  std::unordered_map<std::int64_t, ParsedEvidence> parsed_;
  std::size_t parsed_bytes_ = 0;

  Database& db_;
  SeriesCache* series_;
  // What history() read last by series, with the SeriesCache current: for return_values.
  struct ReadBySeries {
    std::int64_t patient_id = 0;
    std::vector<std::string> markers;  // in the order read
    std::uint64_t changes = 0;         // Database::watched_changes() when read
  };
  ReadBySeries read_by_series_;
  Statement select_values_, select_series_values_, select_milestones_, select_patient_,
      select_live_, note_logged_, insert_alert_, update_alert_, insert_event_, select_alerts_,
      select_events_, select_alert_, select_log_, set_person_state_, insert_person_event_;
};

}  // namespace markerwatch::store
