// A file given to `markerwatch import`, as the import reads it before storing: told apart by
// content, then (results or milestones CSV) read patient by patient on the helper thread that
// maps each row and evaluates each group as a new patient's. Properties:
// - reading ends in groups and rejected rows, a malformed-quoting reason, or an InputError for
//   the header, nothing else;
// - every row of a group is a whole record or a reason, every line number within the file;
// - the reader comes back to a row it has read (seek) and reads the same row again.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "core/errors.hpp"
#include "fuzz_support.hpp"
#include "ingest/csv_patient_rows.hpp"
#include "ingest/csv_reader.hpp"
#include "ingest/csv_records.hpp"
#include "ingest/pipeline.hpp"

using namespace markerwatch;

namespace {

void require_rereadable(std::string_view content) {
  ingest::CsvReader reader(content);
  ingest::CsvRow row, again;
  for (;;) {
    const auto before = reader.position();
    try {
      if (!reader.next(row)) return;
    } catch (const InputError&) {
      return;  // malformed quoting: the readable part ends here
    }
    const auto after = reader.position();
    reader.seek(before);
    fuzz::require(reader.next(again), "a row read once is not there when read again");
    fuzz::require(again.line == row.line && again.fields == row.fields, "a row read again differs");
    fuzz::require(reader.position().offset == after.offset, "a re-read row ends elsewhere");
  }
}

// Lines as the reader counts them: ended by LF, CRLF or a lone CR.
std::size_t lines_in(std::string_view content) {
  std::size_t lines = 1;
  for (std::size_t i = 0; i < content.size(); ++i)
    lines += content[i] == '\n' ||
             (content[i] == '\r' && (i + 1 == content.size() || content[i + 1] != '\n'));
  return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view content(reinterpret_cast<const char*>(data), size);
  const auto kind = ingest::detect_file_kind(content);
  if (kind != ingest::FileKind::results_csv && kind != ingest::FileKind::milestones_csv) return 0;
  require_rereadable(content);

  const auto& settings = fuzz::sample_settings();
  const auto context = ingest::record_context(settings);
  std::optional<ingest::CsvHeader> header;
  try {
    ingest::CsvReader reader(content);
    const auto header_row = reader.next();
    if (!header_row) return 0;
    header = kind == ingest::FileKind::results_csv ? ingest::results_header(*header_row)
                                                   : ingest::milestones_header(*header_row);
  } catch (const InputError&) {
    return 0;  // the import reports the header's problem and stores nothing
  }
  // A small queue, so that the helper thread waits for this one as it would on a large file.
  ingest::CsvPatientRows rows(content, kind, *header, context, settings::engine_config(settings),
                              4);
  const auto last_line = lines_in(content);
  while (auto group = rows.next()) {
    fuzz::require(!group->rows.empty(), "an empty patient group");
    for (const auto& row : group->rows) {
      fuzz::require(row.line >= 2 && row.line <= last_line, "a row's line is not in the file");
      if (const auto* reason = std::get_if<std::string>(&row.record)) {
        fuzz::require(!reason->empty(), "a row rejected without a reason");
        continue;
      }
      if (const auto* m = std::get_if<MilestoneRecord>(&row.record)) fuzz::require_whole(*m);
      if (kind == ingest::FileKind::results_csv) fuzz::require_whole(group->result_of(row));
    }
  }
  if (rows.malformed()) fuzz::require(!rows.malformed()->empty(), "malformed without a reason");
  return 0;
}
