#include "ingest/replay.hpp"

#include "ingest/csv_records.hpp"

namespace markerwatch::ingest {

Replayer::Replayer(const settings::Settings& settings, Sink sink)
    : settings_(settings), sink_(std::move(sink)) {}

void Replayer::evaluate(const std::string& key, const std::vector<std::string>& scope) {
  const auto& history = history_.history(key);
  const auto evaluation = engine::evaluate(history, settings::engine_config(settings_), scope);
  auto events = engine::reconcile(alerts_.live(key, scope), evaluation, [&](const std::string& k) {
    return alerts_.note_logged(key, k);
  });
  alerts_.apply(key, events);
  for (auto& e : events) sink_({history.patient, std::move(e)});
}

bool Replayer::add_result(const ResultRecord& r) {
  if (!history_.add_result(r)) return false;
  evaluate(engine::patient_key(r.patient), {r.marker});
  return true;
}

bool Replayer::add_milestone(const MilestoneRecord& m) {
  if (!history_.add_milestone(m)) return false;
  evaluate(engine::patient_key(m.patient), m.markers);
  return true;
}

void Replayer::feed_csv(std::string_view content, const std::string& path) {
  const auto kind = detect_file_kind(content);
  if (kind != FileKind::results_csv && kind != FileKind::milestones_csv)
    throw InputError(path +
                     ": not a results or milestones CSV (header patient_id,marker,collected_at,"
                     "value,unit or patient_id,kind,date)");
  const RecordContext context{&settings_.markers, &settings_.milestone_kinds, settings_.zone.get()};
  CsvReader reader(content);
  std::optional<CsvHeader> header;
  try {
    auto header_row = reader.next();
    if (!header_row) throw InputError("empty file");
    header = kind == FileKind::results_csv ? results_header(*header_row)
                                           : milestones_header(*header_row);
  } catch (const InputError& e) {
    throw InputError(path + ":1: " + e.what());
  }
  while (true) {
    std::optional<CsvRow> row;
    try {
      row = reader.next();
    } catch (const InputError& e) {
      rejections_.push_back(path + ": " + e.what());
      return;
    }
    if (!row) return;
    try {
      if (kind == FileKind::results_csv)
        add_result(parse_result_row(*header, *row, context));
      else
        add_milestone(parse_milestone_row(*header, *row, context));
    } catch (const InputError& e) {
      rejections_.push_back(path + ":" + std::to_string(row->line) + ": " + e.what());
    }
  }
}

}  // namespace markerwatch::ingest
