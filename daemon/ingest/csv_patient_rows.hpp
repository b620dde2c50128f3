#pragma once
// A results or milestones CSV read patient by patient: a helper thread tokenises the file, groups
// each patient's rows (file order within a patient, patients in order of first appearance) and
// maps them to records, while the caller stores the previous patients. Mapping is pure and needs
// no database; the queue between the two is bounded, so memory stays bounded by the queue and
// the row positions (two numbers per row, a third while grouping), not by the file's records.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "ingest/csv_records.hpp"

namespace markerwatch::ingest {

struct MappedCsvRow {
  std::size_t line = 0;
  // The record, or the reason the row was rejected.
  std::variant<ResultRecord, MilestoneRecord, std::string> record;
};

class CsvPatientRows {
 public:
  // `content` must outlive this object; `header` is the file's parsed first row.
  CsvPatientRows(std::string_view content, FileKind kind, const CsvHeader& header,
                 const RecordContext& ctx, std::size_t max_queued_rows = 20000);
  ~CsvPatientRows();  // stops and joins the helper thread
  CsvPatientRows(const CsvPatientRows&) = delete;
  CsvPatientRows& operator=(const CsvPatientRows&) = delete;

  // The next patient's rows; nullopt when the file is done. Rethrows what the helper threw.
  std::optional<std::vector<MappedCsvRow>> next();
  // Set once next() returned nullopt: the malformed quoting that ended the readable part of the
  // file (rows before it were delivered), with its line in the text.
  const std::optional<std::string>& malformed() const { return malformed_; }

 private:
  void produce(std::stop_token stop);
  void push(std::vector<MappedCsvRow> rows, std::stop_token& stop);

  std::string_view content_;
  FileKind kind_;
  const CsvHeader& header_;
  const RecordContext& ctx_;
  std::size_t max_queued_rows_;

  std::mutex mutex_;
  std::condition_variable_any changed_;
  std::deque<std::vector<MappedCsvRow>> queue_;
  std::size_t queued_rows_ = 0;
  bool done_ = false;
  std::exception_ptr failure_;
  std::optional<std::string> malformed_;
  std::jthread helper_;  // last: starts after every member above is ready
};

}  // namespace markerwatch::ingest
