#include "ingest/csv_records.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/errors.hpp"
#include "core/numeric_value.hpp"
#include "core/patient_choice.hpp"
#include "core/quantity.hpp"
#include "core/reference_range.hpp"
#include "core/result_status.hpp"
#include "core/text.hpp"

namespace markerwatch::ingest {

namespace {

// Indexed by Column.
constexpr std::array<std::string_view, kColumnCount> kColumnNames = {
    "patient_id", "marker", "collected_at", "value",  "unit",
    "status",     "obs_id", "received_at",  "method", "reference_range",
    "kind",       "date",   "end_date",     "note",   "markers"};

const std::vector<std::string> kResultRequired = {"patient_id", "marker", "collected_at", "value",
                                                  "unit"};
const std::vector<std::string> kResultOptional = {"status", "obs_id", "received_at", "method",
                                                  "reference_range"};
const std::vector<std::string> kMilestoneRequired = {"patient_id", "kind", "date"};
const std::vector<std::string> kMilestoneOptional = {"end_date", "note", "markers", "status"};

std::string iso_date(const std::string& value, const std::string& column) {
  auto t = parse_iso_timestamp(value);
  if (!t || value.size() != 10)
    throw InputError(column + " '" + text::printable(value, 30) + "' is not a date (YYYY-MM-DD)");
  return value;
}

}  // namespace

FileKind detect_file_kind(std::string_view content) {
  if (content.starts_with("\xEF\xBB\xBF")) content.remove_prefix(3);
  while (!content.empty() &&
         (content.front() == '\r' || content.front() == '\n' || content.front() == 0x0B))
    content.remove_prefix(1);
  // A message, or the file or batch header of HL7's batch envelope.
  if (content.starts_with("MSH") || content.starts_with("FHS") || content.starts_with("BHS"))
    return FileKind::hl7;
  auto header_line = content.substr(0, content.find_first_of("\r\n"));
  auto columns = text::split(header_line, ',');
  auto has = [&](std::string_view name) {
    return std::any_of(columns.begin(), columns.end(),
                       [&](std::string_view c) { return text::trim(c) == name; });
  };
  if (has("patient_id") && has("marker") && has("collected_at")) return FileKind::results_csv;
  if (has("patient_id") && has("kind") && has("date")) return FileKind::milestones_csv;
  return FileKind::unknown;
}

CsvHeader::CsvHeader(const CsvRow& header, const std::vector<std::string>& required,
                     const std::vector<std::string>& optional)
    : width_(header.fields.size()) {
  position_.fill(kAbsent);
  // Only called with the names of `required` and `optional`, which all are columns.
  auto slot = [&](std::string_view name) -> std::size_t& {
    for (std::size_t c = 0; c < kColumnCount; ++c)
      if (kColumnNames[c] == name) return position_[c];
    throw std::logic_error("CSV column '" + std::string(name) + "' missing from kColumnNames");
  };
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    auto name = std::string(text::trim(header.fields[i]));
    if (std::find(required.begin(), required.end(), name) == required.end() &&
        std::find(optional.begin(), optional.end(), name) == optional.end())
      throw InputError("unknown column '" + text::printable(name, 40) + "' in the header");
    auto& position = slot(name);
    if (position != kAbsent) throw InputError("column '" + name + "' appears twice");
    position = i;
  }
  for (const auto& r : required)
    if (slot(r) == kAbsent) throw InputError("the header lacks the required column '" + r + "'");
}

std::string_view CsvHeader::get(const CsvRow& row, Column column) const {
  const auto position = position_[static_cast<std::size_t>(column)];
  if (position == kAbsent || position >= row.fields.size()) return {};
  return row.fields[position];
}

CsvHeader results_header(const CsvRow& header) {
  return CsvHeader(header, kResultRequired, kResultOptional);
}
CsvHeader milestones_header(const CsvRow& header) {
  return CsvHeader(header, kMilestoneRequired, kMilestoneOptional);
}

ResultRecord parse_result_row(const CsvHeader& h, const CsvRow& row, const RecordContext& ctx,
                              const PatientKey* known_patient) {
  ResultRecord r;
  parse_result_row(h, row, ctx, known_patient, r);
  return r;
}

void parse_result_row(const CsvHeader& h, const CsvRow& row, const RecordContext& ctx,
                      const PatientKey* known_patient, ResultRecord& r) {
  if (row.fields.size() != h.width())
    throw InputError("row has " + std::to_string(row.fields.size()) + " fields, the header " +
                     std::to_string(h.width()));
  r.source = "csv";
  r.patient = known_patient ? *known_patient
                            : parse_patient_key(h.get(row, Column::patient_id), "patient_id");
  const auto marker_name = text::trim(h.get(row, Column::marker));
  const auto* marker = ctx.markers->find(marker_name);
  if (!marker) throw InputError("unknown marker '" + text::printable(marker_name, 40) + "'");
  r.marker = marker->name;
  r.method = text::trim(text::checked_text(h.get(row, Column::method), "method", 200));

  r.collected_raw = text::trim(h.get(row, Column::collected_at));
  auto when = parse_iso_timestamp(r.collected_raw);
  if (!when)
    throw InputError("collected_at '" + text::printable(r.collected_raw, 40) +
                     "' is not an ISO 8601 date or date-time");
  auto resolved = resolve(*when, *ctx.zone);
  r.collected_at = std::move(resolved->utc);
  r.collected_date = std::move(resolved->local_date);
  r.collected_offset_assumed = resolved->offset_assumed && when->precision > TimePrecision::day;

  const auto status_text = text::trim(h.get(row, Column::status));
  auto status = status_from_string(status_text);
  if (!status) throw InputError("unknown status '" + text::printable(status_text, 30) + "'");
  r.status = *status;
  r.obs_id = text::trim(text::checked_text(h.get(row, Column::obs_id), "obs_id", 200));
  const auto received = text::trim(h.get(row, Column::received_at));
  if (!received.empty()) {
    auto t = parse_iso_timestamp(received);
    if (!t) throw InputError("received_at '" + text::printable(received, 40) + "' is not ISO 8601");
    r.received_at = std::move(resolve(*t, *ctx.zone)->utc);
  }

  const auto value_text = text::trim(h.get(row, Column::value));
  r.unit_raw = text::trim(text::checked_text(h.get(row, Column::unit), "unit", 40));
  r.reference_range =
      text::trim(text::checked_text(h.get(row, Column::reference_range), "reference_range", 100));
  if (removes_value(r.status) && value_text.empty()) {
    r.unit = marker->canonical_unit;
    return;
  }
  auto number = parse_numeric(value_text);
  if (!number) throw InputError("value '" + text::printable(value_text, 40) + "' is not a number");
  r.value_raw = std::string(to_string(number->comparator)) + number->text;
  set_reading(r, *ctx.markers, *marker, *number, RangeCheck::strict);
}

MilestoneRecord make_milestone(const std::string& patient, const std::string& kind,
                               const std::string& date, const std::string& end_date,
                               const std::string& note, const std::string& markers,
                               const RecordContext& ctx) {
  MilestoneRecord m;
  m.patient = parse_patient_key(patient, "patient_id");
  m.kind = std::string(text::trim(kind));
  if (!ctx.kinds->role(m.kind))
    throw InputError("unknown milestone kind '" + text::printable(m.kind, 40) + "'");
  m.date = iso_date(std::string(text::trim(date)), "date");
  const auto end = std::string(text::trim(end_date));
  if (!end.empty()) {
    m.end_date = iso_date(end, "end_date");
    if (m.end_date < m.date)
      throw InputError("end_date " + m.end_date + " is before date " + m.date);
  }
  m.note = text::checked_text(note, "note", 2000);
  for (auto part : text::split(markers, ';')) {
    auto name = text::trim(part);
    if (name.empty()) continue;
    const auto* marker = ctx.markers->find(name);
    if (!marker) throw InputError("unknown marker '" + text::printable(name, 40) + "' in markers");
    if (std::find(m.markers.begin(), m.markers.end(), marker->name) == m.markers.end())
      m.markers.push_back(marker->name);
  }
  std::sort(m.markers.begin(), m.markers.end());
  return m;
}

MilestoneRecord parse_milestone_row(const CsvHeader& h, const CsvRow& row,
                                    const RecordContext& ctx) {
  if (row.fields.size() != h.width())
    throw InputError("row has " + std::to_string(row.fields.size()) + " fields, the header " +
                     std::to_string(h.width()));
  auto field = [&](Column column) { return std::string(h.get(row, column)); };
  auto m =
      make_milestone(field(Column::patient_id), field(Column::kind), field(Column::date),
                     field(Column::end_date), field(Column::note), field(Column::markers), ctx);
  // The statuses that remove a result remove a milestone (a procedure recorded in error, or that
  // did not happen); a milestone has no preliminary or corrected version.
  const auto status_text = text::trim(h.get(row, Column::status));
  const auto status = status_from_string(status_text);
  if (status && removes_value(*status))
    m.entered_in_error = true;
  else if (status != ResultStatus::final_result)
    throw InputError("status '" + text::printable(status_text, 40) +
                     "' of a milestone: final (or empty), or entered-in-error to remove it");
  return m;
}

}  // namespace markerwatch::ingest
