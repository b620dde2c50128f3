#pragma once
// A results or milestones CSV read patient by patient: a helper thread tokenises the file, groups
// each patient's rows (file order within a patient, patients in order of first appearance), maps
// them to records, and admits and evaluates a results group's records as a new patient's would be
// (E3 among them, then the engine), while the caller stores the previous patients. All of that is
// pure and needs no database; the queue between the two is bounded, so memory stays bounded by the
// queue and the row positions (two numbers per row, a third while grouping), not by the file's
// records.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "engine/evaluate.hpp"
#include "engine/reconcile.hpp"
#include "ingest/csv_records.hpp"
#include "ingest/hand_off.hpp"
#include "store/new_patient_rows.hpp"

namespace markerwatch::ingest {

// A results row whose record was moved into its group's new_rows, as the row numbered `number`.
struct KeptRow {
  std::int64_t number = 0;
};

// What a results row comes to if its patient is new to the database (E3 among the group's rows).
enum class AsNewPatient { not_tried, kept, unchanged, refused };

struct MappedCsvRow {
  std::size_t line = 0;
  // The record, or the reason the row was rejected, or where its record went.
  std::variant<ResultRecord, MilestoneRecord, std::string, KeptRow> record;
  AsNewPatient as_new = AsNewPatient::not_tried;
  std::string refused_as_new;  // as_new == refused: why
};

// One patient's rows, file order.
struct CsvPatientGroup {
  std::vector<MappedCsvRow> rows;
  // Results files: the rows as a patient new to the database stores them, admitted one by one in
  // file order while the rows were mapped. When the patient is new, these are its rows as they
  // stand; otherwise each row is stored against the database's history, a kept row's record read
  // from here.
  std::unique_ptr<store::NewPatientRows> new_rows = std::make_unique<store::NewPatientRows>();
  // The events those rows give a new patient (evaluate_new_patient).
  std::vector<engine::Event> events_as_new;

  // The record of a results row, kept or not; the row must hold one or be kept.
  const ResultRecord& result_of(const MappedCsvRow& row) const;
};

class CsvPatientRows {
 public:
  // `content` must outlive this object; `header` is the file's parsed first row; `engine` is what
  // a group is evaluated with as a new patient's.
  CsvPatientRows(std::string_view content, FileKind kind, const CsvHeader& header,
                 const RecordContext& ctx, const engine::EngineConfig& engine,
                 std::size_t max_queued_rows = 20000);
  ~CsvPatientRows();  // stops and joins the helper thread
  CsvPatientRows(const CsvPatientRows&) = delete;
  CsvPatientRows& operator=(const CsvPatientRows&) = delete;

  // The next patient's rows; nullopt when the file is done. Rethrows what the helper threw.
  std::optional<CsvPatientGroup> next();
  // Set once next() returned nullopt: the malformed quoting that ended the readable part of the
  // file (rows before it were delivered), with its line in the text.
  const std::optional<std::string>& malformed() const { return malformed_; }

 private:
  void produce(std::stop_token stop);

  std::string_view content_;
  FileKind kind_;
  const CsvHeader& header_;
  const RecordContext& ctx_;
  engine::EngineConfig engine_;

  HandOff<CsvPatientGroup> groups_;       // weighed in rows
  std::optional<std::string> malformed_;  // written by the helper before it finishes
  std::jthread helper_;                   // last: starts after every member above is ready
};

}  // namespace markerwatch::ingest
