#pragma once
// The subcommands of `markerwatch`. Each returns the process exit code: 0 success, 1 the input
// had rejected parts, 2 a usage, configuration or database error.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "settings/settings.hpp"
#include "store/database.hpp"

namespace markerwatch::cli {

struct Common {
  std::string config_path;
  std::string db_path;  // wins over [storage] path
};

settings::Settings load_settings(const Common& c);
// Opens (creating and migrating) the configured database; `must_exist` refuses to create one.
std::unique_ptr<store::Database> open_database(const settings::Settings& s, bool must_exist = false,
                                               int wal_autocheckpoint = 1000);
// A file given on the command line, up to 512 MiB. Throws InputError.
std::string read_input_file(const std::string& path);
// A --since value: a span back from `now` (Unix seconds) such as 24h or 7d, or a date or time
// (2026-12-01, 2026-12-01T08:00:00+01:00; without an offset, UTC); returned as the logs write
// times ("2026-12-01T00:00:00Z"), so it compares with them as text. Throws InputError.
std::string since_time(const std::string& since, std::int64_t now);

int cmd_check_config(const Common& c);
int cmd_import(const Common& c, const std::vector<std::string>& files);
int cmd_results(const Common& c, const std::string& patient, const std::string& marker,
                const std::string& format, bool all_versions);
struct MilestoneArgs {
  std::string patient, kind, date, end_date, note, markers;
  std::string by;  // who makes the change; "" = the login that runs the command
};
int cmd_milestones_add(const Common& c, const MilestoneArgs& m);
// Removes a milestone entered in error (patient, kind, date, and markers when several match) and
// re-evaluates the patient in the same transaction.
int cmd_milestones_remove(const Common& c, const MilestoneArgs& m);
// The milestone log (store/milestone_log.hpp) of one patient, or of all.
int cmd_milestones_history(const Common& c, const std::string& patient,
                           const std::string& format_name);
int cmd_messages(const Common& c, const std::string& outcome, int limit, const std::string& format);
int cmd_message_show(const Common& c, std::int64_t id, bool raw);
// Removes the raw bytes of the messages received before `before` (YYYY-MM-DD), or more than
// `older_than_days` days before today (UTC), with one of `outcomes` (store/message_pruning.hpp);
// `dry_run` only counts them.
struct PruneArgs {
  std::string before;
  int older_than_days = 0;
  std::vector<std::string> outcomes = {"ignored"};
  bool dry_run = false;
};
int cmd_messages_prune(const Common& c, const PruneArgs& args);
// Each sender of the messages received since `since` (24h, 7d, a UTC date or time) with counts
// by outcome, its latest message and its latest error (store/sender_activity.hpp).
int cmd_senders(const Common& c, const std::string& since, const std::string& format);
struct ReplayArgs {
  std::string results, milestones, patient, format = "table";
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
};
int cmd_replay(const Common& c, const ReplayArgs& args);
// Evaluates the stored patients (all, or one) with the configuration's rules and writes what
// changed into the alert log (NEW, UPDATE, RETRACT, ...), as a new result would.
int cmd_reevaluate(const Common& c, const std::string& patient, const std::string& format);
struct AlertsArgs {
  std::string state = "open", patient, marker, severity, since, until, format = "table";
};
int cmd_alerts(const Common& c, const AlertsArgs& args);
int cmd_alert_show(const Common& c, std::int64_t id);
// `action`: "acknowledge" or "resolve".
int cmd_alert_action(const Common& c, const std::string& action, std::int64_t id,
                     const std::string& by, const std::string& note);
int cmd_log(const Common& c, const std::string& since, const std::string& patient, int limit,
            const std::string& format);
struct DeliveriesArgs {
  std::string state = "all", receiver, format = "table";
  std::int64_t alert = 0;
  int limit = 200;
};
int cmd_deliveries(const Common& c, const DeliveriesArgs& args);
int cmd_deliveries_retry(const Common& c, const std::vector<std::int64_t>& ids, bool dead,
                         const std::string& receiver);
int cmd_webhook_test(const Common& c, const std::string& name);
// Prints a fresh HTTP bearer token and the [[http.tokens]] lines that admit it.
int cmd_token_new(const std::string& name, const std::vector<std::string>& roles);
// One patient's marker as an SVG chart, to `output` ("" or "-": stdout).
int cmd_chart(const Common& c, const std::string& patient, const std::string& marker,
              const std::string& output);
// Writes a checked copy of the database to `file`, a new file, or into `folder` under a name of
// its time, keeping the newest `keep` such copies there (0: all; store/backup.hpp).
struct BackupArgs {
  std::string file, folder;
  int keep = 0;
};
int cmd_backup(const Common& c, const BackupArgs& args);
int cmd_milestones_list(const Common& c, const std::string& patient, const std::string& format);

}  // namespace markerwatch::cli
