#pragma once
// Rows of the results and milestones CSV files (DESIGN.md "Files") mapped to records. Pure.
#include <array>
#include <string>
#include <vector>

#include "core/markers.hpp"
#include "core/milestone_kinds.hpp"
#include "core/records.hpp"
#include "core/timestamp.hpp"
#include "ingest/csv_reader.hpp"

namespace markerwatch::ingest {

enum class FileKind { hl7, results_csv, milestones_csv, unknown };
// Told apart by content: an MSH segment (or an HL7 batch file's FHS or BHS header), or the CSV
// header's required columns.
FileKind detect_file_kind(std::string_view content);

// Every column the two CSV kinds know (DESIGN.md "Files").
enum class Column {
  patient_id,
  marker,
  collected_at,
  value,
  unit,
  status,
  obs_id,
  received_at,
  method,
  reference_range,
  kind,
  date,
  end_date,
  note,
  markers,
};
inline constexpr std::size_t kColumnCount = static_cast<std::size_t>(Column::markers) + 1;

class CsvHeader {
 public:
  // Throws InputError naming missing required or unknown columns.
  CsvHeader(const CsvRow& header, const std::vector<std::string>& required,
            const std::vector<std::string>& optional);
  // The field of `row` under `column`, or "" when the column is absent or the row is short.
  // Positions are resolved once per file: this runs for every field of every row.
  std::string_view get(const CsvRow& row, Column column) const;
  std::size_t width() const { return width_; }

 private:
  static constexpr std::size_t kAbsent = static_cast<std::size_t>(-1);
  std::array<std::size_t, kColumnCount> position_;
  std::size_t width_ = 0;
};

CsvHeader results_header(const CsvRow& header);
CsvHeader milestones_header(const CsvRow& header);

struct RecordContext {
  const MarkerCatalog* markers = nullptr;
  const MilestoneKinds* kinds = nullptr;
  const ZoneRules* zone = nullptr;
};

// Throw InputError with the reason (the caller adds file and line). `known_patient`: the row's
// patient as read from it before (its field is not read again).
ResultRecord parse_result_row(const CsvHeader& h, const CsvRow& row, const RecordContext& ctx,
                              const PatientKey* known_patient = nullptr);
// The same into `out`, which must be default-constructed (a record built where it is kept is not
// moved there: a record is ~20 strings). After a throw, `out` holds part of the row.
void parse_result_row(const CsvHeader& h, const CsvRow& row, const RecordContext& ctx,
                      const PatientKey* known_patient, ResultRecord& out);
MilestoneRecord parse_milestone_row(const CsvHeader& h, const CsvRow& row,
                                    const RecordContext& ctx);

// Shared with the CLI's `milestones add`: validates kind, dates and markers.
MilestoneRecord make_milestone(const std::string& patient, const std::string& kind,
                               const std::string& date, const std::string& end_date,
                               const std::string& note, const std::string& markers,
                               const RecordContext& ctx);

}  // namespace markerwatch::ingest
