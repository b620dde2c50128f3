#include "ingest/alert_evaluator.hpp"

#include <chrono>

namespace markerwatch::ingest {

AlertEvaluator::AlertEvaluator(store::Database& db, const settings::Settings& settings,
                               const Clock& clock, store::SeriesCache* series)
    : settings_(settings), clock_(clock), store_(db, series), outbox_(db, settings) {}

std::vector<engine::Event> AlertEvaluator::evaluate(std::int64_t patient_id,
                                                    const std::vector<std::string>& markers,
                                                    const std::string& cause,
                                                    const std::string& now,
                                                    const store::NewPatientRows* new_rows) {
  auto history = store_.history(patient_id, new_rows, markers);
  const engine::NoteLogged logged = [&](const std::string& key) {
    return store_.note_logged(patient_id, key);
  };
  const auto evaluation =
      engine::evaluate(history, settings::engine_config(settings_), markers, logged);
  store_.return_values(patient_id, std::move(history.values));
  return record(patient_id, history.patient,
                engine::reconcile(store_.live(patient_id, markers), evaluation, logged), cause,
                now);
}

std::vector<engine::Event> AlertEvaluator::record(std::int64_t patient_id,
                                                  const std::string& patient,
                                                  std::vector<engine::Event> events,
                                                  const std::string& cause,
                                                  const std::string& now) {
  const auto ids = store_.record(patient_id, patient, events, cause, now);
  outbox_.queue(events, ids, patient, unix_seconds(clock_));
  return events;
}

std::vector<engine::Event> evaluate_new_patient(const std::string& patient,
                                                const store::NewPatientRows& rows,
                                                const engine::EngineConfig& config) {
  if (rows.rows().empty()) return {};
  // The scope PendingEvaluations gives a patient: the markers its rows were stored for.
  std::set<std::string> markers;
  for (const auto& row : rows.rows()) markers.insert(row.record.marker);
  const std::vector<std::string> scope(markers.begin(), markers.end());
  const engine::PatientHistory history{patient, rows.values(), {}};
  const engine::NoteLogged nothing_logged = [](const std::string&) { return false; };
  return engine::reconcile({}, engine::evaluate(history, config, scope, nothing_logged),
                           nothing_logged);
}

void PendingEvaluations::add(std::int64_t patient_id, const std::vector<std::string>& markers) {
  auto [it, inserted] = markers_.try_emplace(patient_id, std::set<std::string>{});
  if (markers.empty())
    it->second.reset();  // every marker
  else if (it->second)
    it->second->insert(markers.begin(), markers.end());
}

void PendingEvaluations::add_new_patient(std::int64_t patient_id) {
  new_patients_.try_emplace(patient_id, std::make_unique<store::NewPatientRows>());
}

void PendingEvaluations::adopt_new_patient(std::int64_t patient_id, const std::string& patient,
                                           std::unique_ptr<store::NewPatientRows> rows,
                                           std::vector<engine::Event> events) {
  new_patients_.try_emplace(patient_id, std::move(rows));
  evaluated_.insert_or_assign(patient_id, Evaluated{patient, std::move(events)});
}

store::NewPatientRows* PendingEvaluations::new_patient_rows(std::int64_t patient_id) {
  auto it = new_patients_.find(patient_id);
  return it == new_patients_.end() ? nullptr : it->second.get();
}

void PendingEvaluations::discard() {
  markers_.clear();
  new_patients_.clear();
  evaluated_.clear();
}

void PendingEvaluations::flush(AlertEvaluator& evaluator, const std::string& cause,
                               const std::string& now, std::map<std::string, int>& counts) {
  for (const auto& e : flush(evaluator, cause, now))
    ++counts[std::string(engine::to_string(e.type))];
}

std::vector<engine::Event> PendingEvaluations::flush(AlertEvaluator& evaluator,
                                                     const std::string& cause,
                                                     const std::string& now) {
  for (const auto& [patient, rows] : new_patients_) results_.write_new_rows(patient, *rows, now);
  std::vector<engine::Event> events;
  for (auto& [patient_id, evaluated] : evaluated_) {
    auto more =
        evaluator.record(patient_id, evaluated.patient, std::move(evaluated.events), cause, now);
    events.insert(events.end(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
  }
  for (const auto& [patient, markers] : markers_) {
    std::vector<std::string> scope;
    if (markers) scope.assign(markers->begin(), markers->end());
    auto more = evaluator.evaluate(patient, scope, cause, now, new_patient_rows(patient));
    events.insert(events.end(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
  }
  discard();
  return events;
}

}  // namespace markerwatch::ingest
