#pragma once
// Typed access to patients, the message log, results and milestones. All SQL lives here and is
// prepared once per connection; callers never see SQL.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/patient_choice.hpp"
#include "core/records.hpp"
#include "core/version_resolution.hpp"
#include "engine/alert_json.hpp"
#include "store/database.hpp"
#include "store/milestone_log.hpp"
#include "store/new_patient_rows.hpp"
#include "store/series_cache.hpp"

namespace markerwatch::store {

struct MessageEntry {
  std::string transport;  // mllp | http | file
  std::string peer;
  std::string sender;
  std::string control_id;
  std::string content_sha256;
  std::string received_at;
  std::string raw;
};

struct MessageOutcome {
  std::string outcome;  // accepted | partial | ignored | rejected | duplicate
  std::string ack_code;
  std::string error;
  int results_stored = 0;
  int observations_ignored = 0;
  std::optional<std::int64_t> duplicate_of;
  bool operator==(const MessageOutcome&) const = default;
};

enum class StoreResult { stored, unchanged };

struct ResultRow {
  std::int64_t id = 0;
  std::string patient_id, authority, marker, method, collected_at, collected_date, collected_raw;
  std::optional<double> value;
  std::string comparator, value_raw, unit, unit_raw, reference_range;
  std::optional<double> uln;
  std::string status, obs_id, version_time, source;
  bool effective = false;
};

// The machine form of a stored result version (CLI --format json and the HTTP API).
engine::Json to_json(const ResultRow& row);

struct MessageRow {
  std::int64_t id = 0;
  std::string transport, peer, sender, control_id, received_at, outcome, ack_code, error;
  int results_stored = 0, observations_ignored = 0;
  std::optional<std::int64_t> duplicate_of;
  std::optional<std::string> raw;  // only when asked for
  std::string raw_pruned_at;       // when `messages prune` removed the raw bytes, else ""
};

struct MilestoneRow {
  std::int64_t id = 0;
  std::string patient_id, authority, kind, date, end_date, note, markers, source;
};

// The machine form of a stored milestone (CLI --format json and the HTTP API).
engine::Json to_json(const MilestoneRow& row);

class ResultStore {
 public:
  // `series`, when given, is told of every result stored here (the writer's cache of series).
  explicit ResultStore(Database& db, SeriesCache* series = nullptr);

  struct PatientLookup {
    std::int64_t id = 0;
    bool created = false;  // inserted by this call
  };
  // The patient a key names, by choose_patient (core/patient_choice.hpp): found, claimed (a patient
  // stored without an authority takes the key's) or added. Throws InputError when the key names
  // several patients.
  PatientLookup find_or_add_patient(const PatientKey& key, const std::string& now);
  std::int64_t patient(const PatientKey& key, const std::string& now);
  // The same choice, writing nothing: nullopt when the key names no stored patient.
  std::optional<std::int64_t> find_patient(const PatientKey& key);

  // The message row with its outcome: the final one, or the one expected when storing its
  // contents could still change it (then settle_outcome). A duplicate's bytes are those of the
  // message it repeats and are not kept twice.
  std::int64_t insert_message(const MessageEntry& m, const MessageOutcome& o);
  // Rewrites the outcome `written` by insert_message when `final` differs: most messages end as
  // expected, and the UPDATE cost each of them ~5% of the writer's instructions. A duplicate is
  // known before its row is written, so duplicate_of is never rewritten here.
  void settle_outcome(std::int64_t message_id, const MessageOutcome& written,
                      const MessageOutcome& final);
  // A message already accepted from this sender with this control id and the same bytes.
  std::optional<std::int64_t> find_accepted(const std::string& sender,
                                            const std::string& control_id,
                                            const std::string& sha256);

  // Stores one result version of the patient (from patient()) and re-resolves the effective
  // version of its series on that date. A row identical to a stored version is a no-op. Throws
  // InputError when a correction without observation id is ambiguous. With `new_rows` (the
  // patient was created in this transaction and every row of it stored through them), the
  // versions are taken from and the row is kept in them, to be written by write_new_rows.
  StoreResult store_result(const ResultRecord& r, std::int64_t patient_id,
                           std::optional<std::int64_t> message_id, const std::string& now,
                           NewPatientRows* new_rows = nullptr);
  // Writes the rows kept for a patient created in this transaction, in their arrival order, with
  // their current flags; `now` is their stored_at.
  void write_new_rows(std::int64_t patient_id, const NewPatientRows& rows, const std::string& now);
  // A milestone stored, or removed (entered in error: the patient's milestone with this kind, date
  // and markers), is also a row of the milestone log with its origin; unchanged (the same one
  // already stored, none to remove) writes nothing.
  StoreResult store_milestone(const MilestoneRecord& m, const MilestoneOrigin& origin,
                              const std::string& now);
  StoreResult remove_milestone(std::int64_t patient_id, const MilestoneRecord& m,
                               const MilestoneOrigin& origin, const std::string& now);
  // The milestone log's id of the latest change the two above made (0 before any): the cause
  // the alert log names for what that change re-evaluates.
  std::int64_t last_milestone_change() const { return last_milestone_change_; }

  std::vector<ResultRow> results(const std::string& patient_id, const std::string& marker,
                                 bool effective_only);
  std::vector<MilestoneRow> milestones(const std::string& patient_id);

  // For replay of stored history: patients (one identifier, or all when empty), and each
  // patient's inputs (the patient key left empty) in arrival order.
  std::vector<std::pair<std::int64_t, PatientKey>> patients(const std::string& identifier);
  std::vector<ResultRecord> result_versions(std::int64_t patient_id);
  std::vector<MilestoneRecord> milestone_records(std::int64_t patient_id);
  // The message log, newest first; `outcome` empty = any.
  std::vector<MessageRow> messages(const std::string& outcome, int limit);
  std::optional<MessageRow> message(std::int64_t id);

  static constexpr int kResultColumnCount = 21;  // parameters per row of an insert
  static constexpr std::size_t kRowsPerInsert = 16;

 private:
  PatientChoice choose_stored_patient(const PatientKey& key);
  std::vector<StoredResultVersion> versions_on_date(std::int64_t patient_id, const ResultRecord& r);
  // The insert of `rows` rows (1 to kRowsPerInsert), prepared when first needed.
  Statement& insert_of(std::size_t rows);
  // Binds one row's parameters after the first `offset` ones.
  static void bind_result(Statement& insert, int offset, std::int64_t patient_id,
                          const ResultRecord& r, std::optional<std::int64_t> message_id,
                          bool effective, const std::string& now);

  Database& db_;
  SeriesCache* series_;
  Statement find_patient_candidates_, claim_patient_, insert_patient_, insert_message_,
      update_message_, find_accepted_, insert_result_, series_versions_, set_effective_,
      insert_milestone_, delete_milestone_, select_results_, select_milestones_, select_messages_,
      select_message_, select_patients_, select_versions_, select_patient_milestones_;
  std::array<std::optional<Statement>, kRowsPerInsert - 1> insert_rows_;  // 2 to kRowsPerInsert
  MilestoneLog milestone_log_;
  std::int64_t last_milestone_change_ = 0;
};

}  // namespace markerwatch::store
