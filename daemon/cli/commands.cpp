#include "cli/commands.hpp"

#include <pwd.h>
#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <utility>

#include "cli/output.hpp"
#include "core/calendar.hpp"
#include "core/clock.hpp"
#include "core/duration.hpp"
#include "core/text.hpp"
#include "core/timestamp.hpp"
#include "ingest/alert_evaluator.hpp"
#include "ingest/csv_records.hpp"
#include "ingest/pipeline.hpp"
#include "store/checkpointer.hpp"
#include "store/message_pruning.hpp"
#include "store/migrations.hpp"
#include "store/result_store.hpp"

namespace markerwatch::cli {

namespace {

constexpr std::size_t kMaxImportBytes = 512ull * 1024 * 1024;

}  // namespace

std::unique_ptr<store::Database> open_database(const settings::Settings& s, bool must_exist,
                                               int wal_autocheckpoint) {
  if (must_exist && !std::filesystem::exists(s.storage.path))
    throw InputError("no database at " + s.storage.path + " (use --db or [storage] path)");
  store::OpenOptions options;
  options.synchronous =
      s.storage.synchronous_full ? store::Synchronous::full : store::Synchronous::normal;
  options.wal_autocheckpoint = wal_autocheckpoint;
  options.batched_log_writes = true;  // an import's frames in few writes
  auto db = std::make_unique<store::Database>(s.storage.path, options);
  // A schema upgrade may rebuild an index over every stored result: say why nothing happens yet.
  bool told = false;
  store::migrate(*db, store::embedded_schema(), {.still_working = [&] {
    if (!std::exchange(told, true))
      std::cerr << "markerwatch: upgrading the schema of " << s.storage.path
                << " (once; for a large database this takes a while)\n";
  }});
  return db;
}

std::string read_input_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot be read");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(in.tellg());
  if (size > kMaxImportBytes) throw InputError("larger than 512 MiB; split it");
  in.seekg(0);
  std::string content(size, '\0');
  in.read(content.data(), static_cast<std::streamsize>(size));
  return content;
}

std::string since_time(const std::string& since, std::int64_t now) {
  if (const auto span = parse_duration_seconds(since); span && *span > 0 && *span <= now)
    return format_utc(now - *span);
  if (const auto parsed = parse_iso_timestamp(since))
    if (const auto resolved = resolve(*parsed, FixedOffsetZone(0))) return resolved->utc;
  throw InputError("--since: '" + text::printable(since, 40) +
                   "' is neither a span back from now (24h, 7d) nor a date or time "
                   "(2026-12-01, 2026-12-01T08:00:00Z)");
}

settings::Settings load_settings(const Common& c) {
  auto s = c.config_path.empty() ? settings::default_settings()
                                 : settings::load_settings_file(c.config_path);
  if (!c.db_path.empty()) s.storage.path = c.db_path;
  return s;
}

int cmd_check_config(const Common& c) {
  auto s = load_settings(c);
  std::cout << "configuration ok: " << settings::describe(s) << "\n";
  return 0;
}

int cmd_import(const Common& c, const std::vector<std::string>& files) {
  auto s = load_settings(c);
  // This connection never checkpoints, so its commits never wait for one: the checkpointer below
  // copies frames back meanwhile, and one checkpoint at the end copies what is left.
  auto db = open_database(s, false, 0);
  // With synchronous = full, chunks commit without a sync of their own and the log is synced once
  // per file, before the file is reported (a sync covers every commit before it). A power loss
  // during a file can only lose its latest chunks, each a set of whole patients with their alerts;
  // importing the file again stores them: a CSV file is marked imported by its last chunk, HL7
  // messages already stored are recognised as re-sent, and rows already stored are unchanged.
  const bool sync_per_file = s.storage.synchronous_full;
  if (sync_per_file) db->set_synchronous(store::Synchronous::normal);
  // Frames are copied back while the import stores, on the core the row reader leaves idle, so
  // the final checkpoint has little left (1,000,000 rows: ~1.0 s from the last row to the end,
  // ~0.4 s with it). Its failures need no report: that checkpoint copies whatever is left.
  store::Checkpointer checkpointer(s.storage.path, std::chrono::milliseconds(100));
  checkpointer.start();
  SystemClock clock;
  ingest::Pipeline pipeline(*db, s, clock);
  bool any_rejected = false;
  for (const auto& path : files) {
    // What a database error at this point leaves of the file, in the words the person gets.
    const char* kept = "nothing of this file was stored";
    try {
      const auto content = read_input_file(path);
      auto txn = std::make_unique<store::Transaction>(*db);
      auto report = pipeline.ingest_file(content, path, [&] {
        txn->commit();
        kept =
            "part of this file was stored: import it again to store the rest (rows already "
            "stored stay unchanged)";
        txn = std::make_unique<store::Transaction>(*db);
      });
      txn->commit();
      kept =
          "this file was stored but not synced to disk: import it again to be sure it is kept "
          "(rows already stored stay unchanged)";
      if (sync_per_file) db->sync_log();
      for (const auto& r : report.rejections)
        std::cerr << path << ":" << r.line << ": " << r.reason << "\n";
      if (report.kind == "hl7")
        std::cout << path << ": hl7: " << report.accepted << " message(s) accepted ("
                  << report.results_stored << " result(s) stored, " << report.observations_ignored
                  << " observation(s) for no configured marker), " << report.unchanged
                  << " duplicate(s), " << report.rejected << " rejected"
                  << (report.file_problems > 0 ? ", " + std::to_string(report.file_problems) +
                                                     " problem(s) with the file itself"
                                               : "")
                  << "\n";
      else
        std::cout << path << ": " << report.kind << ": " << report.accepted << " stored, "
                  << report.unchanged << " unchanged, " << report.rejected << " rejected\n";
      if (!report.alert_events.empty()) {
        std::cout << path << ": alert log:";
        for (const auto& [type, count] : report.alert_events)
          std::cout << " " << count << " " << type;
        std::cout << "\n";
      }
      any_rejected = any_rejected || report.rejected > 0 || report.file_problems > 0;
    } catch (const InputError& e) {
      if (sync_per_file) db->sync_log();
      std::cerr << path << ": " << e.what() << "\n";
      any_rejected = true;
    } catch (const store::StoreError& e) {
      // The database refused a write (a full disk, an I/O error): the files after this one are
      // not tried. The person needs to know which file, and whether any of it is stored.
      throw store::StoreError(path + ": " + e.what() + "; " + kept);
    }
  }
  checkpointer.stop();
  try {
    db->exec("PRAGMA wal_checkpoint(PASSIVE)");
  } catch (const store::StoreError&) {
    // A busy database is checkpointed later by the daemon or the next command.
  }
  return any_rejected ? 1 : 0;
}

int cmd_results(const Common& c, const std::string& patient, const std::string& marker_name,
                const std::string& format_name, bool all_versions) {
  auto s = load_settings(c);
  const auto format = parse_format(format_name);
  std::string marker;
  if (!marker_name.empty()) {
    const auto* def = s.markers.find(marker_name);
    if (!def) throw InputError("unknown marker '" + marker_name + "'");
    marker = def->name;
  }
  auto db = open_database(s, true);
  store::ResultStore store(*db);
  const auto rows = store.results(patient, marker, !all_versions);
  if (format == Format::json) {
    print_json_rows(rows);
    return 0;
  }
  std::vector<std::string> headers = {"date",   "marker", "value", "unit",
                                      "status", "method", "uln",   "source"};
  if (all_versions) headers.push_back("current");
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    std::vector<std::string> cells = {r.collected_date,
                                      r.marker,
                                      r.value ? r.comparator + format_number(*r.value) : "-",
                                      r.unit,
                                      r.status,
                                      r.method,
                                      r.uln ? format_number(*r.uln) : "",
                                      r.source};
    if (all_versions) cells.push_back(r.effective ? "yes" : "no");
    table.push_back(std::move(cells));
  }
  std::cout << render(format, headers, table, {false, false, true, false, false, false, true});
  return 0;
}

namespace {

void print_alert_log_lines(const std::vector<engine::Event>& events) {
  for (const auto& e : events)
    std::cout << "alert log: " << engine::to_string(e.type)
              << (e.alert ? " alert " + std::to_string(e.alert_id) + ": " + e.alert->summary
                          : ": " + e.note->summary)
              << "\n";
}

std::string markers_text(const std::vector<std::string>& markers) {
  return markers.empty() ? "all markers" : text::join(markers, ";");
}

// Who makes a change at the CLI, for the milestone log: as given, else the login that runs the
// command; under sudo the person behind it (operators run the CLI as the service's user).
std::string person_making_change(const std::string& by) {
  std::string name = by;
  if (name.empty()) {
    if (const char* sudo_user = std::getenv("SUDO_USER"); sudo_user && *sudo_user)
      name = sudo_user;
    else if (const passwd* account = getpwuid(geteuid()); account && account->pw_name)
      name = account->pw_name;
    else
      name = "uid " + std::to_string(geteuid());
  }
  if (text::trim(name).empty()) throw InputError("--by needs a name");
  return std::string(text::checked_text(name, "--by", 200));
}

// What the alert log names as the cause of a change's re-evaluation: its entry in the milestone
// log, which says who made it and when (as "message:<id>" names a message of the message log).
std::string milestone_change_cause(const store::ResultStore& store) {
  return "milestone_change:" + std::to_string(store.last_milestone_change());
}

}  // namespace

int cmd_milestones_add(const Common& c, const MilestoneArgs& a) {
  auto s = load_settings(c);
  auto record = ingest::make_milestone(a.patient, a.kind, a.date, a.end_date, a.note, a.markers,
                                       ingest::record_context(s));
  const store::MilestoneOrigin origin{"cli", std::nullopt, person_making_change(a.by)};
  auto db = open_database(s);
  store::ResultStore store(*db);
  const auto now = format_utc(unix_seconds(SystemClock()));
  store::Transaction txn(*db);
  auto result = store.store_milestone(record, origin, now);
  // A new milestone changes the patient's episodes: re-evaluate in the same transaction.
  std::vector<engine::Event> events;
  if (result == store::StoreResult::stored) {
    SystemClock clock;
    ingest::AlertEvaluator evaluator(*db, s, clock);
    events = evaluator.evaluate(store.patient(record.patient, now), record.markers,
                                milestone_change_cause(store), now);
  }
  txn.commit();
  std::cout << (result == store::StoreResult::stored ? "added " : "already present: ")
            << record.kind << " " << record.date << " for patient " << patient_text(record.patient)
            << "\n";
  print_alert_log_lines(events);
  return 0;
}

int cmd_milestones_remove(const Common& c, const MilestoneArgs& a) {
  auto s = load_settings(c);
  const auto wanted = ingest::make_milestone(a.patient, a.kind, a.date, "", "", a.markers,
                                             ingest::record_context(s));
  const store::MilestoneOrigin origin{"cli", std::nullopt, person_making_change(a.by)};
  auto db = open_database(s);
  store::ResultStore store(*db);
  const auto now = format_utc(unix_seconds(SystemClock()));
  store::Transaction txn(*db);
  const auto patient_id = store.find_patient(wanted.patient);
  if (!patient_id) throw InputError("no patient '" + a.patient + "' is stored");
  // Without --markers, the one milestone of that kind on that date, whatever markers it names.
  std::vector<MilestoneRecord> matching;
  for (auto& m : store.milestone_records(*patient_id))
    if (m.kind == wanted.kind && m.date == wanted.date &&
        (a.markers.empty() || m.markers == wanted.markers))
      matching.push_back(std::move(m));
  if (matching.empty())
    throw InputError("patient '" + a.patient + "' has no " + wanted.kind + " milestone on " +
                     wanted.date +
                     (a.markers.empty() ? "" : " for " + markers_text(wanted.markers)) +
                     " (markerwatch milestones list --patient " + a.patient + ")");
  if (matching.size() > 1) {
    std::vector<std::string> each;
    for (const auto& m : matching) each.push_back(markers_text(m.markers));
    throw InputError("patient '" + a.patient + "' has " + std::to_string(matching.size()) + " " +
                     wanted.kind + " milestones on " + wanted.date + ", for " +
                     text::join(each, " | ") + ": say which with --markers");
  }
  auto removed = matching.front();
  removed.patient = wanted.patient;
  store.remove_milestone(*patient_id, removed, origin, now);
  // Episodes that began at it end, alerts it grounded are retracted: in the same transaction.
  SystemClock clock;
  ingest::AlertEvaluator evaluator(*db, s, clock);
  const auto events =
      evaluator.evaluate(*patient_id, removed.markers, milestone_change_cause(store), now);
  txn.commit();
  std::cout << "removed " << removed.kind << " " << removed.date << " ("
            << markers_text(removed.markers) << ") for patient " << patient_text(wanted.patient)
            << "\n";
  print_alert_log_lines(events);
  return 0;
}

int cmd_milestones_list(const Common& c, const std::string& patient,
                        const std::string& format_name) {
  auto s = load_settings(c);
  const auto format = parse_format(format_name);
  auto db = open_database(s, true);
  store::ResultStore store(*db);
  const auto rows = store.milestones(patient);
  if (format == Format::json) {
    print_json_rows(rows);
    return 0;
  }
  std::vector<std::string> headers = {"patient_id", "date", "kind", "end_date", "markers", "note"};
  std::vector<std::vector<std::string>> table;
  for (const auto& m : rows)
    table.push_back({m.patient_id, m.date, m.kind, m.end_date, m.markers, m.note});
  std::cout << render(format, headers, table);
  return 0;
}

int cmd_milestones_history(const Common& c, const std::string& patient,
                           const std::string& format_name) {
  auto s = load_settings(c);
  const auto format = parse_format(format_name);
  auto db = open_database(s, true);
  const auto rows = store::MilestoneLog(*db).changes(patient);
  if (format == Format::json) {
    print_json_rows(rows);
    return 0;
  }
  const auto message_text = [](const std::optional<std::int64_t>& id) {
    return id ? std::to_string(*id) : std::string();
  };
  std::vector<std::string> headers = {"id",   "at",      "patient_id", "change",  "kind",
                                      "date", "markers", "source",     "message", "by"};
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows)
    table.push_back({std::to_string(r.id), r.at, patient_text({r.patient_id, r.authority}),
                     r.change, r.kind, r.date, r.markers, r.source, message_text(r.message_id),
                     r.changed_by});
  std::cout << render(format, headers, table);
  return 0;
}

int cmd_messages(const Common& c, const std::string& outcome, int limit,
                 const std::string& format_name) {
  auto s = load_settings(c);
  const auto format = parse_format(format_name);
  auto db = open_database(s, true);
  store::ResultStore store(*db);
  const auto rows = store.messages(outcome, limit);
  if (format == Format::json) {
    auto out = nlohmann::json::array();
    for (const auto& m : rows) {
      nlohmann::json j = {{"id", m.id},
                          {"received_at", m.received_at},
                          {"transport", m.transport},
                          {"peer", m.peer},
                          {"sender", m.sender},
                          {"control_id", m.control_id},
                          {"outcome", m.outcome},
                          {"ack", m.ack_code},
                          {"results_stored", m.results_stored},
                          {"observations_ignored", m.observations_ignored},
                          {"error", m.error}};
      j["duplicate_of"] =
          m.duplicate_of ? nlohmann::json(*m.duplicate_of) : nlohmann::json(nullptr);
      out.push_back(std::move(j));
    }
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::vector<std::string> headers = {"id",      "received_at", "transport", "sender", "control_id",
                                      "outcome", "ack",         "stored",    "error"};
  std::vector<std::vector<std::string>> table;
  for (const auto& m : rows)
    table.push_back({std::to_string(m.id), m.received_at, m.transport, m.sender, m.control_id,
                     m.outcome, m.ack_code, std::to_string(m.results_stored), m.error});
  std::cout << render(format, headers, table,
                      {true, false, false, false, false, false, false, true});
  return 0;
}

int cmd_message_show(const Common& c, std::int64_t id, bool raw) {
  auto s = load_settings(c);
  auto db = open_database(s, true);
  store::ResultStore store(*db);
  const auto m = store.message(id);
  if (!m) throw InputError("no message with id " + std::to_string(id));
  if (raw) {
    if (!m->raw && !m->raw_pruned_at.empty())
      throw InputError("the raw bytes of message " + std::to_string(id) +
                       " were removed by markerwatch messages prune at " + m->raw_pruned_at);
    if (!m->raw)
      throw InputError("message " + std::to_string(id) + " is a duplicate of message " +
                       std::to_string(m->duplicate_of.value_or(0)) + "; its bytes are kept there");
    // Segments end in CR; a terminal shows them one per line.
    std::string text = *m->raw;
    for (auto& ch : text)
      if (ch == '\r') ch = '\n';
    std::cout << text << (text.ends_with('\n') ? "" : "\n");
    return 0;
  }
  std::cout << "id:          " << m->id << "\nreceived_at: " << m->received_at
            << "\ntransport:   " << m->transport << " " << m->peer << "\nsender:      " << m->sender
            << "\ncontrol_id:  " << m->control_id << "\noutcome:     " << m->outcome << " (ACK "
            << (m->ack_code.empty() ? "none" : m->ack_code)
            << ")\nstored:      " << m->results_stored << " result(s), " << m->observations_ignored
            << " observation(s) for no configured marker\n";
  if (m->duplicate_of) std::cout << "duplicate of: " << *m->duplicate_of << "\n";
  if (!m->raw_pruned_at.empty())
    std::cout << "raw bytes:   removed by markerwatch messages prune at " << m->raw_pruned_at
              << "\n";
  if (!m->error.empty()) std::cout << "error:       " << m->error << "\n";
  return 0;
}

int cmd_messages_prune(const Common& c, const PruneArgs& args) {
  if (args.before.empty() == (args.older_than_days == 0))
    throw InputError("give either --before YYYY-MM-DD or --older-than DAYS");
  const auto now = unix_seconds(SystemClock());
  const auto before = args.older_than_days > 0
                          ? format_day(static_cast<int>(now / 86400) - args.older_than_days)
                          : args.before;
  if (before.size() != 10 || !day_number(before))
    throw InputError("--before: '" + text::printable(before, 40) + "' is not a date (YYYY-MM-DD)");
  auto s = load_settings(c);
  // Checkpoints as it goes: with the daemon stopped, nothing else copies the log back.
  auto db = open_database(s, true);
  store::PruneRequest request{
      .before = before, .outcomes = args.outcomes, .now = format_utc(now), .dry_run = args.dry_run};
  const auto report = store::prune_message_bytes(*db, request);
  std::string listed;
  for (const auto& o : args.outcomes) listed += (listed.empty() ? "" : ",") + o;
  std::cout << (args.dry_run ? "would remove" : "removed") << " the raw bytes of "
            << report.messages << " message(s) received before " << before << " with outcome "
            << listed << " (" << report.bytes << " bytes)\n";
  return 0;
}

}  // namespace markerwatch::cli
