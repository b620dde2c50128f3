#pragma once
// Runs the engine for one patient inside the caller's transaction: loads the patient's history and
// live alerts, evaluates, and records the diff as alert events. Whatever stored the input that
// caused it (an HL7 message, a file row, a milestone) commits the alerts with it.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "engine/evaluate.hpp"
#include "notify/outbox.hpp"
#include "settings/settings.hpp"
#include "store/alert_store.hpp"
#include "store/result_store.hpp"

namespace markerwatch::ingest {

class AlertEvaluator {
 public:
  // `series`: the cache of series its reads share with the ResultStore that stores the results.
  AlertEvaluator(store::Database& db, const settings::Settings& settings, const Clock& clock,
                 store::SeriesCache* series = nullptr);

  // Re-evaluates the patient's series of `markers` (every marker when empty), records the events
  // and queues their webhook deliveries. Returns them with their alert ids. `new_rows`: see
  // AlertStore::history.
  std::vector<engine::Event> evaluate(std::int64_t patient_id,
                                      const std::vector<std::string>& markers,
                                      const std::string& cause, const std::string& now,
                                      const store::NewPatientRows* new_rows = nullptr);
  // Records events worked out elsewhere (evaluate_new_patient) as evaluate records its own;
  // returns them with their alert ids.
  std::vector<engine::Event> record(std::int64_t patient_id, const std::string& patient,
                                    std::vector<engine::Event> events, const std::string& cause,
                                    const std::string& now);

 private:
  const settings::Settings& settings_;
  const Clock& clock_;
  store::AlertStore store_;
  notify::Outbox outbox_;
};

// The events of a patient the database does not have yet, all of whose rows are in `rows`: with
// no milestones, alerts or logged notes of its own, it needs nothing else, so this runs on any
// thread. The same events AlertEvaluator::evaluate finds once the rows are written.
std::vector<engine::Event> evaluate_new_patient(const std::string& patient,
                                                const store::NewPatientRows& rows,
                                                const engine::EngineConfig& config);

// Patients touched by a batch of inputs, evaluated together before the batch commits.
class PendingEvaluations {
 public:
  explicit PendingEvaluations(store::ResultStore& results) : results_(results) {}

  void add(std::int64_t patient_id, const std::vector<std::string>& markers);
  // A patient the batch created: its result rows are stored through new_patient_rows(), written
  // when the batch flushes, and its evaluation reads them there. The batch flushes before its
  // transaction commits, or is dropped with it when it rolls back.
  void add_new_patient(std::int64_t patient_id);
  // A patient the batch created (`patient`: its identifier), with every row it has, admitted
  // already as new_patient_rows() would have, and the events evaluate_new_patient found for them.
  void adopt_new_patient(std::int64_t patient_id, const std::string& patient,
                         std::unique_ptr<store::NewPatientRows> rows,
                         std::vector<engine::Event> events);
  // nullptr unless the batch created the patient.
  store::NewPatientRows* new_patient_rows(std::int64_t patient_id);
  // Forgets everything added (what it stood for was rolled back).
  void discard();
  // Writes the new patients' rows (`now`: their stored_at), evaluates and clears; returns the
  // number of events per type ("new", "update", ...).
  void flush(AlertEvaluator& evaluator, const std::string& cause, const std::string& now,
             std::map<std::string, int>& counts);
  std::vector<engine::Event> flush(AlertEvaluator& evaluator, const std::string& cause,
                                   const std::string& now);

 private:
  std::map<std::int64_t, std::optional<std::set<std::string>>> markers_;  // nullopt: every marker
  store::ResultStore& results_;
  std::map<std::int64_t, std::unique_ptr<store::NewPatientRows>> new_patients_;  // creation order
  struct Evaluated {
    std::string patient;
    std::vector<engine::Event> events;
  };
  std::map<std::int64_t, Evaluated> evaluated_;  // adopted patients
};

}  // namespace markerwatch::ingest
