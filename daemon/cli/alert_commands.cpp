// `markerwatch replay` and `markerwatch alerts`: the engine's output for people and machines.
#include <algorithm>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "core/calendar.hpp"
#include "engine/alert_json.hpp"
#include "ingest/replay.hpp"
#include "store/alert_store.hpp"
#include "store/migrations.hpp"
#include "store/result_store.hpp"

namespace markerwatch::cli {

namespace {

std::string rules_text(const std::vector<engine::Rule>& rules) {
  std::string s;
  for (auto r : rules) s += (s.empty() ? "" : ",") + std::string(engine::to_string(r));
  return s;
}

std::vector<std::string> event_cells(const ingest::ReplayedEvent& r) {
  const auto& e = r.event;
  const std::string type(engine::to_string(e.type));
  if (e.alert) {
    const auto& a = *e.alert;
    return {type,
            std::to_string(e.alert_id),
            r.patient,
            a.identity.marker,
            std::string(engine::to_string(a.identity.cls)),
            rules_text(a.rules),
            format_day(a.event_day),
            format_day(a.fire_day),
            std::string(engine::to_string(a.severity)),
            std::string(engine::to_string(e.state)),
            a.summary};
  }
  const auto& n = *e.note;
  return {type,      "-",
          r.patient, n.marker,
          n.code,    n.rule ? std::string(to_string(*n.rule)) : "",
          "",        format_day(n.day),
          "",        "",
          n.summary};
}

// Stored patients replayed as the file replay reads files: the patient's milestones first (they
// are the context results are read in), then every result version in arrival order. The events
// are those a file replay of the same inputs prints, whatever order they were imported in.
void replay_database(const settings::Settings& s, const std::string& patient,
                     ingest::Replayer& replayer) {
  store::OpenOptions options;
  options.read_only = true;
  store::Database db(s.storage.path, options);
  store::check_schema_version(db);
  store::ResultStore results(db);
  for (const auto& [id, key] : results.patients(patient)) {
    for (auto& m : results.milestone_records(id)) {
      m.record.patient = key;
      replayer.add_milestone(m.record);
    }
    for (auto& r : results.result_versions(id)) {
      r.record.patient = key;
      replayer.add_result(r.record);
    }
  }
}

}  // namespace

int cmd_replay(const Common& c, const ReplayArgs& args) {
  if (args.results.empty() == c.db_path.empty())
    throw InputError("replay needs either --results FILE (and --milestones FILE) or --db PATH");
  if (!args.milestones.empty() && args.results.empty())
    throw InputError("--milestones goes with --results");
  if (!args.patient.empty() && c.db_path.empty()) throw InputError("--patient goes with --db");
  auto s = load_settings(c);
  const bool json = args.format == "json";
  std::vector<std::vector<std::string>> table;
  ingest::Replayer replayer(s, [&](const ingest::ReplayedEvent& e) {
    if (json)
      std::cout << engine::to_json(e.event, e.patient).dump() << "\n";
    else
      table.push_back(event_cells(e));
  });
  if (!c.db_path.empty()) {
    if (!std::filesystem::exists(s.storage.path))
      throw InputError("no database at " + s.storage.path);
    replay_database(s, args.patient, replayer);
  } else {
    // Milestones first: they are the context the results are read in.
    for (const auto& path : {args.milestones, args.results}) {
      if (path.empty()) continue;
      std::string content;
      try {
        content = read_input_file(path);
      } catch (const InputError& e) {
        throw InputError(path + ": " + e.what());
      }
      replayer.feed_csv(content, path);
    }
  }
  if (!json)
    std::cout << render(Format::table,
                        {"event", "alert", "patient", "marker", "class", "rules", "event_date",
                         "fire_date", "severity", "state", "summary"},
                        table, {false, true});
  for (const auto& r : replayer.rejections()) std::cerr << r << "\n";
  return replayer.rejections().empty() ? 0 : 1;
}

int cmd_alerts(const Common& c, const AlertsArgs& args) {
  auto s = load_settings(c);
  const auto format = parse_format(args.format);
  store::AlertFilter filter;
  filter.state = args.state == "all" ? "" : args.state;
  filter.patient = args.patient;
  if (!args.marker.empty()) {
    const auto* def = s.markers.find(args.marker);
    if (!def) throw InputError("unknown marker '" + args.marker + "'");
    filter.marker = def->name;
  }
  auto db = open_database(s, true);
  store::AlertStore alerts(*db);
  const auto rows = alerts.alerts(filter);
  if (format == Format::json) {
    auto out = engine::Json::array();
    for (const auto& r : rows) {
      engine::Json j = {{"alert_id", r.id},
                        {"patient_id", r.patient_id},
                        {"state", std::string(engine::to_string(r.state))}};
      j.update(engine::to_json(r.alert));
      j["created_at"] = r.created_at;
      j["updated_at"] = r.updated_at;
      out.push_back(std::move(j));
    }
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows)
    table.push_back({std::to_string(r.id), std::string(engine::to_string(r.state)),
                     r.alert.severity == engine::Severity::high ? "HIGH" : "standard", r.patient_id,
                     r.alert.identity.marker, std::string(engine::to_string(r.alert.identity.cls)),
                     rules_text(r.alert.rules), format_day(r.alert.event_day),
                     format_day(r.alert.fire_day), r.alert.summary});
  std::cout << render(format,
                      {"id", "state", "severity", "patient", "marker", "class", "rules",
                       "event_date", "fire_date", "summary"},
                      table, {true});
  return 0;
}

}  // namespace markerwatch::cli
