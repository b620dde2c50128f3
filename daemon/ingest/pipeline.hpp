#pragma once
// The one path every input takes, whatever its transport: parse, map, store, all inside the
// caller's transaction, with the outcome (and for HL7 the ACK) it must answer once committed.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "fhir/request.hpp"
#include "hl7/ack.hpp"
#include "hl7/oru_mapper.hpp"
#include "ingest/alert_evaluator.hpp"
#include "ingest/csv_records.hpp"
#include "ingest/json_records.hpp"
#include "settings/settings.hpp"
#include "store/result_store.hpp"

namespace markerwatch::ingest {

struct Hl7Outcome {
  std::int64_t message_id = 0;
  std::string control_id;
  std::string sender;   // MSH-3|MSH-4 as stored (salvaged from a message that did not parse)
  std::string outcome;  // accepted | partial | ignored | rejected | duplicate
  hl7::AckCode ack_code = hl7::AckCode::AA;
  bool acknowledge = true;  // false for an inbound ACK, which is never answered
  std::string ack;          // the ACK message (no MLLP framing)
  std::string error;        // first reason, for logs and reports
  int stored = 0;
  int ignored = 0;
  std::vector<engine::Event> alert_events;  // what the stored results changed in the alert log
};

struct FileReport {
  struct Rejection {
    std::size_t line = 0;
    std::string reason;
  };
  std::string kind;              // hl7 | results | milestones
  int accepted = 0;              // messages or rows kept
  int results_stored = 0;        // HL7: results stored from the accepted messages
  int observations_ignored = 0;  // HL7: observations for no configured marker
  int unchanged = 0;             // already known (idempotent re-import)
  int rejected = 0;
  // HL7: what the file says of itself that does not hold (its batch envelope's trailers and
  // counts) and text outside any message; each is a rejection too.
  int file_problems = 0;
  std::vector<Rejection> rejections;
  std::map<std::string, int> alert_events;  // alert-log entries written, per type ("new", ...)
};

// An HL7 message parsed and mapped, ready to store: the pure part of ingest, done off the writer.
struct PreparedHl7 {
  std::string raw;
  std::string sha256;
  std::string received_at;
  std::string ack_timestamp;
  std::optional<hl7::MappingResult> mapped;  // nullopt when it did not parse
  std::string parse_error;
};

// A FHIR request body parsed and planned off the writer (the pure part of FHIR ingest).
struct PreparedFhir {
  std::string raw;
  std::string sha256;
  std::string received_at;
  std::optional<fhir::RequestPlan> plan;
  std::optional<fhir::Reply> refusal;  // the body was refused as a whole
};

struct FhirOutcome {
  std::int64_t message_id = 0;
  std::string outcome;  // accepted | partial | ignored | rejected | duplicate
  fhir::Reply reply;
  int stored = 0;  // results and milestones added, changed or removed
  std::vector<engine::Event> alert_events;
};

// A JSON API body (results or milestones) parsed and mapped off the writer.
struct PreparedRows {
  std::string raw;
  std::string sha256;
  std::string received_at;
  FileKind kind = FileKind::results_csv;
  std::optional<JsonRows> rows;
  std::optional<std::string> refusal;  // the body is not an array of objects at all
};

struct RowsOutcome {
  std::int64_t message_id = 0;
  std::string outcome;  // accepted | rejected
  int stored = 0;
  int unchanged = 0;
  std::optional<std::string> refusal;         // the whole body
  std::vector<JsonRows::Rejection> rejected;  // single rows: then nothing is stored
  std::map<std::string, int> alert_counts;
  std::vector<engine::Event> alert_events;
};

struct CsvPatientGroup;

// How each transport maps with these settings (also what the fuzz targets map with).
hl7::MappingOptions hl7_mapping(const settings::Settings& settings);
fhir::MapperOptions fhir_mapping(const settings::Settings& settings);
RecordContext record_context(const settings::Settings& settings);

class Pipeline {
 public:
  Pipeline(store::Database& db, const settings::Settings& settings, const Clock& clock);

  // Parse and map only: no database, safe on any thread.
  PreparedHl7 prepare_hl7(std::string raw) const;
  // Caller holds a transaction (and a savepoint per message). With `deferred`, the patient's
  // alerts are not evaluated here but added to it, to be evaluated before the commit.
  Hl7Outcome store_hl7(const PreparedHl7& prepared, const std::string& transport,
                       const std::string& peer, PendingEvaluations* deferred = nullptr);
  // A frame over the size limit, known only by its first bytes: logged (head only) and answered
  // AR so the sender's operator sees why.
  Hl7Outcome reject_oversized(std::string_view head, std::size_t limit,
                              const std::string& transport, const std::string& peer);
  // A whole file (HL7 messages, results CSV or milestones CSV); caller holds a transaction.
  // `commit_point`, when given, is called every kCommitEvery rows or messages: the CLI commits
  // there, so a large import never holds the database's write lock for long beside the daemon.
  FileReport ingest_file(std::string_view content, const std::string& path,
                         const std::function<void()>& commit_point = {});
  static constexpr int kCommitEvery = 50000;
  // How far ahead of the storing an HL7 file's messages are parsed and mapped (their bytes).
  static constexpr std::size_t kHl7BytesPreparedAhead = 4 << 20;

  // Parse and plan only: no database, safe on any thread. `endpoint` as fhir::plan_request.
  PreparedFhir prepare_fhir(std::string body, std::string_view endpoint) const;
  // Stores what the plan holds (a refused transaction: nothing) and logs the request in the
  // message log; caller holds a transaction. `sender` names the client (its token).
  FhirOutcome store_fhir(const PreparedFhir& prepared, const std::string& sender,
                         const std::string& peer);

  // POST /api/v1/results and /api/v1/milestones: all rows or none. `kind` is results_csv or
  // milestones_csv.
  PreparedRows prepare_rows(std::string body, FileKind kind) const;
  RowsOutcome store_rows(const PreparedRows& prepared, const std::string& sender,
                         const std::string& peer);

  store::Database& database() { return db_; }
  std::string now_utc() const;

 private:
  FileReport ingest_hl7_file(std::string_view content, const std::string& path,
                             const std::function<void()>& commit_point);
  FileReport ingest_csv_file(std::string_view content, const std::string& path, FileKind kind,
                             const std::function<void()>& commit_point);
  // One patient's rows of a CSV file, counted into `report`. Evaluation is left to `pending`.
  void store_csv_group(CsvPatientGroup& group, std::int64_t message_id, const std::string& now,
                       PendingEvaluations& pending, FileReport& report);
  // One row of a file or API body; `patient` caches the row's patient id across rows of one
  // patient. Evaluation is left to `pending`.
  store::StoreResult store_row(const ResultRecord& r, std::optional<std::int64_t>& patient,
                               std::int64_t message_id, const std::string& now,
                               PendingEvaluations& pending);
  store::StoreResult store_row(const MilestoneRecord& m, std::optional<std::int64_t>& patient,
                               const store::MilestoneOrigin& origin, const std::string& now,
                               PendingEvaluations& pending);
  std::string next_ack_id(std::int64_t message_id) const;
  std::string hl7_now() const;

  store::Database& db_;
  const settings::Settings& settings_;
  const Clock& clock_;
  // What the pipeline stores and what it evaluates share the series read last (declared first;
  // none with `[storage] series_cache_values` = 0).
  std::unique_ptr<store::SeriesCache> series_;
  store::ResultStore store_;
  AlertEvaluator alerts_;
  hl7::MappingOptions mapping_;
  fhir::MapperOptions fhir_mapping_;
  RecordContext records_;
};

}  // namespace markerwatch::ingest
