// `markerwatch replay` and `markerwatch alerts`: the engine's output for people and machines.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "cli/background_writer.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "core/calendar.hpp"
#include "core/clock.hpp"
#include "core/text.hpp"
#include "core/timestamp.hpp"
#include "engine/alert_json.hpp"
#include "ingest/alert_evaluator.hpp"
#include "ingest/alert_review.hpp"
#include "ingest/replay.hpp"
#include "notify/outbox.hpp"
#include "store/alert_store.hpp"
#include "store/delivery_store.hpp"
#include "store/migrations.hpp"
#include "store/result_store.hpp"

namespace markerwatch::cli {

namespace {

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
            engine::join_rules(a.rules),
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
  store::Database db(s.storage.path, store::read_only_options());
  store::check_schema_version(db);
  store::ResultStore results(db);
  for (const auto& [id, key] : results.patients(patient)) {
    for (auto& m : results.milestone_records(id)) {
      m.patient = key;
      replayer.add_milestone(m);
    }
    for (auto& r : results.result_versions(id)) {
      r.patient = key;
      replayer.add_result(r);
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
  // Hundreds of MB of JSON lines: written in blocks of 1 MiB rather than stdio's 4 KiB (on this
  // kind of virtual machine each system call costs microseconds; bench/README.md), by a thread
  // of their own.
  std::optional<BackgroundWriter> json_lines;
  if (json) json_lines.emplace(STDOUT_FILENO);
  // The table is printed at the end as one text, as large: through stdio, also in 1 MiB writes.
  // A plain array: it must outlive the flush at exit, which comes after static destructors.
  static char stdout_buffer[1 << 20];
  if (!json) std::setvbuf(stdout, stdout_buffer, _IOFBF, sizeof stdout_buffer);
  std::vector<std::vector<std::string>> table;
  ingest::Replayer::Render render_json;
  if (json)
    render_json = [](const engine::Event& e, const std::string& patient, std::string& out) {
      std::pair<std::size_t, std::size_t> id_at;
      engine::append_event_json(out, e, patient, nullptr, &id_at);
      out.push_back('\n');
      return ingest::AlertIdAt{id_at.first, id_at.second};
    };
  auto replayer = std::make_unique<ingest::Replayer>(
      s,
      [&](const ingest::ReplayedEvent& e) {
        if (json)
          for (const auto piece : e.rendered) json_lines->write(piece);
        else
          table.push_back(event_cells(e));
      },
      args.threads, render_json);
  if (!c.db_path.empty()) {
    if (!std::filesystem::exists(s.storage.path))
      throw InputError("no database at " + s.storage.path);
    replay_database(s, args.patient, *replayer);
  } else {
    auto read = [](const std::string& path) {
      try {
        return read_input_file(path);
      } catch (const InputError& e) {
        throw InputError(path + ": " + e.what());
      }
    };
    // Milestones first: they are the context the results are read in. The results file, the
    // larger, is read from disk meanwhile, on a thread of its own.
    auto results = std::async(std::launch::async, read, args.results);
    if (!args.milestones.empty()) replayer->feed_csv(read(args.milestones), args.milestones);
    replayer->feed_csv(results.get(), args.results, /*last_input=*/true);
  }
  if (json) json_lines->finish();  // throws if a write failed
  if (!json)
    std::cout << render(Format::table,
                        {"event", "alert", "patient", "marker", "class", "rules", "event_date",
                         "fire_date", "severity", "state", "summary"},
                        table, {false, true});
  for (const auto& r : replayer->rejections()) std::cerr << r << "\n";
  const int status = replayer->rejections().empty() ? 0 : 1;
  // The process ends right after a replay, and the kernel takes its memory back at once: freeing
  // the millions of small objects one by one took seconds at the end of a large run
  // (bench/README.md). Kept reachable from a static (a plain pointer: a static's destructor would
  // free it at exit), so that a leak checker does not report it.
  static ingest::Replayer* kept_until_exit = nullptr;
  delete std::exchange(kept_until_exit, replayer.release());
  return status;
}

int cmd_reevaluate(const Common& c, const std::string& patient, const std::string& format) {
  auto s = load_settings(c);
  const bool json = format == "json";
  auto db = open_database(s, /*must_exist=*/true);
  store::ResultStore results(*db);
  const auto patients = results.patients(patient);
  if (!patient.empty() && patients.empty()) throw InputError("no such patient: " + patient);
  SystemClock clock;
  ingest::AlertEvaluator evaluator(*db, s, clock);
  const auto now = format_utc(unix_seconds(clock));
  // A transaction per chunk of patients: the daemon writing beside this waits for one chunk at
  // most, and a run cut short leaves whole chunks done (running it again finds nothing more to
  // change in them).
  constexpr std::size_t kPatientsPerCommit = 200;
  std::map<std::string, int> counts;
  std::vector<std::vector<std::string>> table;
  std::string lines;
  for (std::size_t from = 0; from < patients.size(); from += kPatientsPerCommit) {
    store::Transaction txn(*db);
    std::vector<ingest::ReplayedEvent> chunk;
    for (std::size_t i = from; i < std::min(patients.size(), from + kPatientsPerCommit); ++i) {
      const auto& [id, key] = patients[i];
      for (auto& e : evaluator.evaluate(id, {}, "cli:reevaluate", now))
        chunk.push_back({patient_text(key), std::move(e), {}});
    }
    txn.commit();
    // Printed once committed: what is printed is in the alert log.
    for (const auto& r : chunk) {
      ++counts[std::string(engine::to_string(r.event.type))];
      if (json) {
        engine::append_event_json(lines, r.event, r.patient);
        lines.push_back('\n');
      } else {
        table.push_back(event_cells(r));
      }
    }
    std::cout << lines << std::flush;
    lines.clear();
  }
  if (!json) {
    if (!table.empty())
      std::cout << render(Format::table,
                          {"event", "alert", "patient", "marker", "class", "rules", "event_date",
                           "fire_date", "severity", "state", "summary"},
                          table, {false, true});
    std::cout << "re-evaluated " << patients.size() << " patient"
              << (patients.size() == 1 ? "" : "s") << " with " << s.source << ":";
    for (const char* type : {"new", "update", "resolve", "retract", "suppressed", "info"})
      std::cout << " " << type << " " << (counts.count(type) ? counts[type] : 0)
                << (std::string_view(type) == "info" ? "\n" : ",");
  }
  return 0;
}

int cmd_alerts(const Common& c, const AlertsArgs& args) {
  auto s = load_settings(c);
  const auto format = parse_format(args.format);
  store::AlertFilter filter;
  filter.state = args.state == "all" ? "" : args.state;
  filter.patient = args.patient;
  filter.severity = args.severity;
  for (const auto* date : {&args.since, &args.until})
    if (!date->empty() && !day_number(*date))
      throw InputError("'" + text::printable(*date, 40) + "' is not a date (YYYY-MM-DD)");
  filter.since = args.since;
  filter.until = args.until;
  if (!args.marker.empty()) {
    const auto* def = s.markers.find(args.marker);
    if (!def) throw InputError("unknown marker '" + args.marker + "'");
    filter.marker = def->name;
  }
  auto db = open_database(s, true);
  store::AlertStore alerts(*db);
  const auto rows = alerts.alerts(filter);
  if (format == Format::json) {
    print_json_rows(rows);
    return 0;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows)
    table.push_back({std::to_string(r.id), std::string(engine::to_string(r.state)),
                     r.alert.severity == engine::Severity::high ? "HIGH" : "standard", r.patient_id,
                     r.alert.identity.marker, std::string(engine::to_string(r.alert.identity.cls)),
                     engine::join_rules(r.alert.rules), format_day(r.alert.event_day),
                     format_day(r.alert.fire_day), r.alert.summary});
  std::cout << render(format,
                      {"id", "state", "severity", "patient", "marker", "class", "rules",
                       "event_date", "fire_date", "summary"},
                      table, {true});
  return 0;
}

namespace {

std::string dated_text(const std::optional<engine::DatedValue>& v) {
  return v ? engine::format_value(*v) + " (" + format_day(v->day) + ")" : "-";
}

}  // namespace

int cmd_alert_show(const Common& c, std::int64_t id) {
  auto s = load_settings(c);
  auto db = open_database(s, true);
  store::AlertStore alerts(*db);
  const auto row = alerts.alert(id);
  if (!row) throw InputError("no alert with id " + std::to_string(id));
  const auto& a = row->alert;
  std::cout << "alert " << row->id << ": "
            << (a.severity == engine::Severity::high ? "HIGH" : "standard") << " "
            << a.identity.marker << " " << engine::to_string(a.identity.cls) << ", "
            << engine::to_string(row->state);
  if (!row->acknowledged_by.empty())
    std::cout << " (acknowledged by " << row->acknowledged_by << ")";
  if (!row->resolved_by.empty()) std::cout << " (resolved by " << row->resolved_by << ")";
  std::cout
      << "\npatient:     " << row->patient_id << "\nsummary:     " << engine::summarize(a)
      << "\nrules:       " << engine::join_rules(a.rules) << "\nanchor:      "
      << (a.anchor ? a.anchor->kind + " " + format_day(a.anchor->day)
                   : "none (before any milestone)")
      << "\nevent_date:  " << format_day(a.event_day) << "   fire_date: " << format_day(a.fire_day)
      << "\nvalue:       " << engine::format_value(a.value) << " " << a.unit
      << "\nconfirmer:   " << dated_text(a.confirmer) << "\nbaseline:    " << dated_text(a.baseline)
      << "\nnadir:       " << dated_text(a.nadir) << "\nchange:      "
      << (a.change_pct ? engine::format_quantity(std::round(*a.change_pct * 10) / 10) + "%" : "-")
      << " / " << (a.change_abs ? engine::format_quantity(*a.change_abs) + " " + a.unit : "-")
      << "\ndoubling:    "
      << (a.doubling_time_days ? engine::format_quantity(std::round(*a.doubling_time_days)) + " d"
                               : "-")
      << "\nresolved:    " << (a.resolved_day ? format_day(*a.resolved_day) : "-") << "\n";

  // The series, with the values that made the alert marked.
  store::ResultStore results(*db);
  std::vector<std::vector<std::string>> series;
  for (const auto& r : results.results(row->patient_id, a.identity.marker, true)) {
    if (r.method != a.identity.method || !r.value) continue;
    const auto day = day_number(r.collected_date).value_or(0);
    std::string mark;
    if (day == a.event_day) mark = "<- candidate";
    if (a.confirmer && day == a.confirmer->day) mark = "<- confirmer";
    for (const auto& f : a.later_firings)
      if (mark.empty() && day == f.event_day)
        mark = "<- later " + std::string(engine::to_string(f.rule));
    if (a.nadir && day == a.nadir->day && mark.empty()) mark = "nadir";
    if (a.baseline && day == a.baseline->day && mark.empty()) mark = "baseline";
    series.push_back(
        {r.collected_date, r.comparator + format_number(*r.value), r.unit, r.status, mark});
  }
  std::cout << "\nseries (" << a.identity.marker
            << (a.identity.method.empty() ? "" : " " + a.identity.method) << "):\n"
            << render(Format::table, {"date", "value", "unit", "status", ""}, series,
                      {false, true});
  std::vector<std::vector<std::string>> events;
  for (const auto& e : alerts.events_of(id)) {
    auto detail = engine::Json::parse(e.detail);
    events.push_back({e.at, e.event, e.actor, e.cause, detail.value("note", std::string())});
  }
  std::cout << "\nevents:\n"
            << render(Format::table, {"at", "event", "by", "cause", "note"}, events);
  store::DeliveryStore deliveries(*db);
  store::DeliveryFilter filter;
  filter.alert_id = id;
  std::vector<std::vector<std::string>> sent;
  for (const auto& d : deliveries.list(filter))
    sent.push_back({std::to_string(d.id), d.receiver, d.event_type, d.state,
                    std::to_string(d.attempts), d.last_error});
  std::cout << "\ndeliveries:\n"
            << render(Format::table, {"id", "receiver", "type", "state", "attempts", "reason"},
                      sent);
  return 0;
}

int cmd_alert_action(const Common& c, const std::string& action, std::int64_t id,
                     const std::string& by, const std::string& note) {
  auto s = load_settings(c);
  auto db = open_database(s, true);
  store::Transaction txn(*db);
  ingest::AlertReview(*db, s).act(id, action, by, note, unix_seconds(SystemClock()));
  txn.commit();
  std::cout << "alert " << id << (action == "acknowledge" ? " acknowledged" : " resolved") << " by "
            << by << "\n";
  return 0;
}

int cmd_log(const Common& c, const std::string& since, const std::string& patient, int limit,
            const std::string& format_name) {
  const auto start = since.empty() ? since : since_time(since, unix_seconds(SystemClock()));
  auto s = load_settings(c);
  const auto format = parse_format(format_name);
  auto db = open_database(s, true);
  store::AlertStore alerts(*db);
  const auto rows = alerts.log(start, patient, limit);
  if (format == Format::json) {
    print_json_rows(rows);
    return 0;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& e : rows) {
    auto detail = engine::Json::parse(e.detail);
    table.push_back({e.at, e.event, e.alert_id ? std::to_string(*e.alert_id) : "-", e.patient_id,
                     e.marker, detail.value("severity", std::string()), e.actor,
                     detail.value("note", detail.value("summary", std::string()))});
  }
  std::cout << render(format,
                      {"at", "event", "alert", "patient", "marker", "severity", "by", "summary"},
                      table, {false, false, true});
  return 0;
}

}  // namespace markerwatch::cli
