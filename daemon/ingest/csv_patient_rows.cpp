#include "ingest/csv_patient_rows.hpp"

#include <cstdint>
#include <span>
#include <unordered_map>

#include "core/text.hpp"
#include "ingest/alert_evaluator.hpp"

namespace markerwatch::ingest {

const ResultRecord& CsvPatientGroup::result_of(const MappedCsvRow& row) const {
  if (const auto* kept = std::get_if<KeptRow>(&row.record))
    return new_rows->rows()[static_cast<std::size_t>(kept->number - 1)].record;
  return std::get<ResultRecord>(row.record);
}

CsvPatientRows::CsvPatientRows(std::string_view content, FileKind kind, const CsvHeader& header,
                               const RecordContext& ctx, const engine::EngineConfig& engine,
                               std::size_t max_queued_rows)
    : content_(content),
      kind_(kind),
      header_(header),
      ctx_(ctx),
      engine_(engine),
      groups_(max_queued_rows),
      helper_([this](std::stop_token stop) { produce(stop); }) {}

CsvPatientRows::~CsvPatientRows() {
  helper_.request_stop();  // a helper waiting for room wakes, and the jthread joins it
}

std::optional<CsvPatientGroup> CsvPatientRows::next() {
  return groups_.take();
}

namespace {

// Done here, beside the mapping, so the thread that stores the rows of a new patient only
// writes them: E3 among a patient's own rows needs nothing from the database.
void admit_as_new(CsvPatientGroup& group, MappedCsvRow& row, ResultRecord& result) {
  try {
    if (group.new_rows->admit(std::move(result), std::nullopt)) {
      row.as_new = AsNewPatient::kept;
      row.record = KeptRow{static_cast<std::int64_t>(group.new_rows->rows().size())};
    } else {
      row.as_new = AsNewPatient::unchanged;
    }
  } catch (const InputError& e) {
    row.as_new = AsNewPatient::refused;
    row.refused_as_new = e.what();
  }
}

}  // namespace

void CsvPatientRows::produce(std::stop_token stop) {
  std::optional<std::string> malformed;
  try {
    CsvReader reader(content_);
    reader.next();  // the header, already parsed by the caller
    // Each row's position and patient group in file order, then counted into groups: flat arrays
    // instead of one growing vector per patient, which cost more than reading the rows.
    std::vector<CsvReader::Position> positions;
    std::vector<std::uint32_t> group_of_row;
    std::unordered_map<std::string, std::uint32_t> group_of;
    CsvRow row;
    while (!stop.stop_requested()) {
      const auto position = reader.position();
      try {
        if (!reader.next(row)) break;
      } catch (const InputError& e) {
        malformed = e.what();
        break;
      }
      const auto [it, inserted] =
          group_of.try_emplace(std::string(text::trim(header_.get(row, Column::patient_id))),
                               static_cast<std::uint32_t>(group_of.size()));
      positions.push_back(position);
      group_of_row.push_back(it->second);
    }
    std::vector<std::size_t> group_start(group_of.size() + 1, 0);
    group_of.clear();
    for (const auto g : group_of_row) ++group_start[g + 1];
    for (std::size_t g = 1; g < group_start.size(); ++g) group_start[g] += group_start[g - 1];
    std::vector<CsvReader::Position> grouped(positions.size());
    {
      auto next_slot = group_start;
      for (std::size_t i = 0; i < positions.size(); ++i)
        grouped[next_slot[group_of_row[i]]++] = positions[i];
    }
    positions = {};
    group_of_row = {};
    for (std::size_t g = 0; g + 1 < group_start.size(); ++g) {
      const std::span group(grouped.data() + group_start[g], group_start[g + 1] - group_start[g]);
      if (stop.stop_requested()) break;
      CsvPatientGroup mapped;
      mapped.rows.reserve(group.size());
      for (const auto position : group) {
        reader.seek(position);
        reader.next(row);  // read without error in the first pass
        auto& out = mapped.rows.emplace_back();
        out.line = row.line;
        try {
          if (kind_ == FileKind::results_csv)
            out.record = parse_result_row(header_, row, ctx_);
          else
            out.record = parse_milestone_row(header_, row, ctx_);
        } catch (const InputError& e) {
          out.record = std::string(e.what());
        }
        if (auto* result = std::get_if<ResultRecord>(&out.record))
          admit_as_new(mapped, out, *result);
      }
      if (const auto& kept = mapped.new_rows->rows(); !kept.empty())
        mapped.events_as_new =
            evaluate_new_patient(kept.front().record.patient.id, *mapped.new_rows, engine_);
      const auto rows = mapped.rows.size();
      groups_.push(std::move(mapped), rows, stop);
    }
  } catch (...) {
    malformed_ = std::move(malformed);
    groups_.finish(std::current_exception());
    return;
  }
  malformed_ = std::move(malformed);
  groups_.finish();
}

}  // namespace markerwatch::ingest
