#include "ingest/csv_patient_rows.hpp"

#include <unordered_map>

#include "core/text.hpp"

namespace markerwatch::ingest {

CsvPatientRows::CsvPatientRows(std::string_view content, FileKind kind, const CsvHeader& header,
                               const RecordContext& ctx, std::size_t max_queued_rows)
    : content_(content),
      kind_(kind),
      header_(header),
      ctx_(ctx),
      max_queued_rows_(max_queued_rows),
      helper_([this](std::stop_token stop) { produce(stop); }) {}

CsvPatientRows::~CsvPatientRows() {
  helper_.request_stop();
  changed_.notify_all();
}

std::optional<std::vector<MappedCsvRow>> CsvPatientRows::next() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !queue_.empty() || done_; });
  if (queue_.empty()) {
    if (failure_) std::rethrow_exception(failure_);
    return std::nullopt;
  }
  auto rows = std::move(queue_.front());
  queue_.pop_front();
  queued_rows_ -= rows.size();
  changed_.notify_all();
  return rows;
}

void CsvPatientRows::push(std::vector<MappedCsvRow> rows, std::stop_token& stop) {
  std::unique_lock lock(mutex_);
  // One patient with more rows than the bound still goes through, alone.
  changed_.wait(lock, stop, [&] { return queue_.empty() || queued_rows_ < max_queued_rows_; });
  queued_rows_ += rows.size();
  queue_.push_back(std::move(rows));
  changed_.notify_all();
}

void CsvPatientRows::produce(std::stop_token stop) {
  std::optional<std::string> malformed;
  try {
    CsvReader reader(content_);
    reader.next();  // the header, already parsed by the caller
    std::vector<std::vector<CsvReader::Position>> rows_by_patient;
    std::unordered_map<std::string, std::size_t> group_of;
    while (!stop.stop_requested()) {
      const auto position = reader.position();
      std::optional<CsvRow> row;
      try {
        row = reader.next();
      } catch (const InputError& e) {
        malformed = e.what();
        break;
      }
      if (!row) break;
      auto [it, inserted] = group_of.try_emplace(
          std::string(text::trim(header_.get(*row, Column::patient_id))), rows_by_patient.size());
      if (inserted) rows_by_patient.emplace_back();
      rows_by_patient[it->second].push_back(position);
    }
    group_of.clear();
    for (const auto& positions : rows_by_patient) {
      if (stop.stop_requested()) break;
      std::vector<MappedCsvRow> mapped;
      mapped.reserve(positions.size());
      for (const auto position : positions) {
        reader.seek(position);
        const auto row = reader.next();  // read without error in the first pass
        MappedCsvRow out{row->line, std::string()};
        try {
          if (kind_ == FileKind::results_csv)
            out.record = parse_result_row(header_, *row, ctx_);
          else
            out.record = parse_milestone_row(header_, *row, ctx_);
        } catch (const InputError& e) {
          out.record = std::string(e.what());
        }
        mapped.push_back(std::move(out));
      }
      push(std::move(mapped), stop);
    }
  } catch (...) {
    std::lock_guard lock(mutex_);
    failure_ = std::current_exception();
  }
  std::lock_guard lock(mutex_);
  malformed_ = std::move(malformed);
  done_ = true;
  changed_.notify_all();
}

}  // namespace markerwatch::ingest
