// markerwatch: the companion CLI. Works on the same database as the daemon (SQLite WAL lets it run
// beside it) and never needs the daemon running.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/huge_page_heap.hpp"
#include "core/errors.hpp"
#include "core/patient_choice.hpp"
#include "store/database.hpp"

int main(int argc, char** argv) {
  using namespace markerwatch;
  // Past a file size limit (ulimit -f), a write fails with an error the command reports, instead
  // of the process being killed halfway with no word of what it had done.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"markerwatch - tumor-marker trend monitoring: import, review, check"};
  app.require_subcommand(1);
  app.set_version_flag("--version", MARKERWATCH_VERSION);
  cli::Common common;
  // --patient is checked as an import checks a patient_id ("id" or "id^authority") and passed on
  // as the import would store it (trimmed), so " mrn1 " finds the patient the import made.
  const CLI::Validator kPatient(
      [](std::string& value) {
        try {
          value = patient_text(parse_patient_key(value, "patient"));
          return std::string();
        } catch (const InputError& e) {
          return std::string(e.what());
        }
      },
      "ID or ID^AUTHORITY");
  auto add_common = [&](CLI::App* sub) {
    sub->add_option("--config", common.config_path, "TOML configuration file");
    sub->add_option("--db", common.db_path, "SQLite database (wins over [storage] path)");
  };

  auto* check = app.add_subcommand("check-config", "validate a configuration file");
  add_common(check);

  std::vector<std::string> files;
  auto* import = app.add_subcommand("import", "import HL7 files and results/milestones CSV files");
  add_common(import);
  import->add_option("files", files, "files to import (kind told apart by content)")->required();

  std::string patient, marker, format = "table";
  bool all_versions = false;
  auto* results = app.add_subcommand("results", "list a patient's stored results");
  add_common(results);
  results->add_option("--patient", patient, "patient: ID or ID^AUTHORITY")
      ->required()
      ->transform(kPatient);
  results->add_option("--marker", marker, "marker name, alias or LOINC code");
  results->add_option("--format", format, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));
  results->add_flag("--all-versions", all_versions, "include superseded and removed versions");

  auto* milestones = app.add_subcommand("milestones", "therapy milestones");
  milestones->require_subcommand(1);
  // What names a milestone: its patient, kind and date.
  const auto add_milestone_identity = [&](CLI::App* sub, cli::MilestoneArgs& args) {
    add_common(sub);
    sub->add_option("--patient", args.patient, "patient: ID or ID^AUTHORITY")
        ->required()
        ->transform(kPatient);
    sub->add_option("--kind", args.kind, "milestone kind, e.g. resection")->required();
    sub->add_option("--date", args.date, "YYYY-MM-DD")->required();
    sub->add_option("--by", args.by,
                    "who makes the change, for the milestone log (default: the login, or "
                    "SUDO_USER under sudo)");
  };
  cli::MilestoneArgs m;
  auto* add = milestones->add_subcommand("add", "add a milestone");
  add_milestone_identity(add, m);
  add->add_option("--end-date", m.end_date, "YYYY-MM-DD, for a course");
  add->add_option("--note", m.note, "free text");
  add->add_option("--markers", m.markers, "markers it concerns, ';'-separated (default: all)");
  cli::MilestoneArgs removal;
  auto* remove = milestones->add_subcommand(
      "remove", "remove a milestone entered in error; the patient's alerts are re-evaluated");
  add_milestone_identity(remove, removal);
  remove->add_option("--markers", removal.markers,
                     "the markers it names, ';'-separated: needed only when several milestones "
                     "of that kind share the date");
  std::string list_patient, list_format = "table";
  auto* list = milestones->add_subcommand("list", "list milestones");
  add_common(list);
  list->add_option("--patient", list_patient, "patient: ID or ID^AUTHORITY (default: all)")
      ->transform(kPatient);
  list->add_option("--format", list_format, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));
  std::string history_patient, history_format = "table";
  auto* history = milestones->add_subcommand(
      "history", "the milestone log: every milestone added or removed, from where and by whom");
  add_common(history);
  history->add_option("--patient", history_patient, "patient: ID or ID^AUTHORITY (default: all)")
      ->transform(kPatient);
  history->add_option("--format", history_format, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));

  std::string outcome;
  int limit = 50;
  std::string messages_format = "table";
  auto* messages =
      app.add_subcommand("messages", "the message log: every message received, with its outcome");
  add_common(messages);
  messages->add_option("--outcome", outcome, "only this outcome")
      ->check(CLI::IsMember({"accepted", "partial", "ignored", "rejected", "duplicate"}));
  messages->add_option("--limit", limit, "newest N messages")->check(CLI::Range(1, 1000000));
  messages->add_option("--format", messages_format, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));
  std::int64_t message_id = 0;
  bool show_raw = false;
  auto* show =
      messages->add_subcommand("show", "one message with its reason; --raw prints its bytes");
  add_common(show);
  show->add_option("id", message_id, "message id")->required();
  show->add_flag("--raw", show_raw, "print the message as received (segments on their own lines)");
  cli::PruneArgs prune_args;
  auto* prune = messages->add_subcommand(
      "prune", "remove the raw bytes of old messages (the rows, results and alerts stay)");
  add_common(prune);
  auto* prune_before = prune->add_option("--before", prune_args.before,
                                         "messages received before this day (YYYY-MM-DD, UTC)");
  auto* prune_older =
      prune
          ->add_option("--older-than", prune_args.older_than_days,
                       "messages received more than DAYS days before today (UTC), for a timer")
          ->check(CLI::Range(1, 36500));
  prune_before->excludes(prune_older);
  prune
      ->add_option("--outcome", prune_args.outcomes,
                   "outcomes whose bytes go, comma-separated (default ignored)")
      ->delimiter(',')
      ->check(CLI::IsMember({"accepted", "partial", "ignored", "rejected"}));
  prune->add_flag("--dry-run", prune_args.dry_run, "only count them");

  std::string senders_since = "7d", senders_format = "table";
  auto* senders = app.add_subcommand(
      "senders", "each sender's recent messages by outcome, its latest one and its latest error");
  add_common(senders);
  senders->add_option("--since", senders_since,
                      "messages received since: 24h, 7d, a UTC date or time (default 7d)");
  senders->add_option("--format", senders_format, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));

  cli::ReplayArgs replay_args;
  auto* replay = app.add_subcommand(
      "replay",
      "evaluate results and milestones (files, or a stored history) and print every "
      "alert event; writes nothing, notifies no one");
  add_common(replay);
  replay->add_option("--results", replay_args.results, "results CSV, rows in arrival order");
  replay->add_option("--milestones", replay_args.milestones, "milestones CSV");
  replay->add_option("--patient", replay_args.patient, "with --db: only this patient")
      ->transform(kPatient);
  replay->add_option("--format", replay_args.format, "table or json (one object per line)")
      ->check(CLI::IsMember({"table", "json"}));
  replay
      ->add_option("--threads", replay_args.threads,
                   "threads evaluating patients (default: one per core); same output for any")
      ->check(CLI::Range(1, 64));

  std::string reevaluate_patient, reevaluate_format = "table";
  auto* reevaluate = app.add_subcommand(
      "reevaluate",
      "evaluate the stored patients with the configuration's rules and write what changed into "
      "the alert log (after a rule change; replay --db shows it first)");
  add_common(reevaluate);
  reevaluate->add_option("--patient", reevaluate_patient, "only this patient: ID or ID^AUTHORITY")
      ->transform(kPatient);
  reevaluate->add_option("--format", reevaluate_format, "table or json (one object per line)")
      ->check(CLI::IsMember({"table", "json"}));

  cli::AlertsArgs alerts_args;
  auto* alerts = app.add_subcommand("alerts", "list alerts with their summary");
  add_common(alerts);
  alerts
      ->add_option("--state", alerts_args.state,
                   "open (default), acknowledged, resolved, "
                   "retracted or all")
      ->check(CLI::IsMember({"open", "acknowledged", "resolved", "retracted", "all"}));
  alerts->add_option("--patient", alerts_args.patient, "patient: ID or ID^AUTHORITY")
      ->transform(kPatient);
  alerts->add_option("--marker", alerts_args.marker, "marker name, alias or LOINC code");
  alerts->add_option("--severity", alerts_args.severity, "high or standard")
      ->check(CLI::IsMember({"high", "standard"}));
  alerts->add_option("--since", alerts_args.since, "fire date on or after YYYY-MM-DD");
  alerts->add_option("--until", alerts_args.until, "fire date on or before YYYY-MM-DD");
  alerts->add_option("--format", alerts_args.format, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));

  auto* alert = app.add_subcommand("alert", "one alert: show, acknowledge, resolve");
  alert->require_subcommand(1);
  std::int64_t alert_id = 0;
  std::string alert_by, alert_note;
  auto* alert_show = alert->add_subcommand(
      "show", "summary, evidence, the series with the firing values marked, events, deliveries");
  add_common(alert_show);
  alert_show->add_option("id", alert_id, "alert id")->required();
  auto* alert_ack = alert->add_subcommand("ack", "acknowledge: seen and being handled");
  auto* alert_resolve = alert->add_subcommand("resolve", "resolve by a person");
  for (auto* sub : {alert_ack, alert_resolve}) {
    add_common(sub);
    sub->add_option("id", alert_id, "alert id")->required();
    sub->add_option("--by", alert_by, "who")->required();
    sub->add_option("--note", alert_note, "why");
  }

  std::string log_since, log_patient, log_format = "table";
  int log_limit = 200;
  auto* log = app.add_subcommand("log", "the alert log, newest first");
  add_common(log);
  log->add_option("--since", log_since,
                  "events since: 24h, 7d, a date or a time (without an offset, UTC)");
  log->add_option("--patient", log_patient, "patient: ID or ID^AUTHORITY")->transform(kPatient);
  log->add_option("--limit", log_limit, "newest N")->check(CLI::Range(1, 1000000));
  log->add_option("--format", log_format, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));

  cli::DeliveriesArgs deliveries_args;
  auto* deliveries =
      app.add_subcommand("deliveries", "the webhook delivery log, with each attempt");
  add_common(deliveries);
  deliveries
      ->add_option("--state", deliveries_args.state, "pending, delivered, dead, skipped or all")
      ->check(CLI::IsMember({"pending", "delivered", "dead", "skipped", "all"}));
  deliveries->add_option("--receiver", deliveries_args.receiver, "receiver name");
  deliveries->add_option("--alert", deliveries_args.alert, "alert id");
  deliveries->add_option("--limit", deliveries_args.limit, "newest N")
      ->check(CLI::Range(1, 1000000));
  deliveries->add_option("--format", deliveries_args.format, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));
  std::vector<std::int64_t> retry_ids;
  bool retry_dead = false;
  std::string retry_receiver;
  auto* retry = deliveries->add_subcommand("retry", "queue dead deliveries again");
  add_common(retry);
  retry->add_option("ids", retry_ids, "delivery ids");
  retry->add_flag("--dead", retry_dead, "every dead delivery (of --receiver)");
  retry->add_option("--receiver", retry_receiver, "with --dead: only this receiver");

  auto* webhook = app.add_subcommand("webhook", "webhook receivers");
  webhook->require_subcommand(1);
  std::string test_name;
  auto* webhook_test = webhook->add_subcommand("test", "send a signed test event to one receiver");
  add_common(webhook_test);
  webhook_test->add_option("name", test_name, "receiver name")->required();

  auto* token = app.add_subcommand("token", "HTTP API bearer tokens");
  token->require_subcommand(1);
  std::string token_name;
  std::vector<std::string> token_roles;
  auto* token_new =
      token->add_subcommand("new", "print a fresh token and the configuration lines that admit it");
  token_new->add_option("name", token_name, "who uses it (e.g. lis-gateway)")->required();
  token_new->add_option("--roles", token_roles, "any of ingest, read, review, admin")
      ->delimiter(',')
      ->required();

  std::string chart_patient, chart_marker = "AFP", chart_output;
  auto* chart =
      app.add_subcommand("chart", "draw a patient's marker, milestones and alerts as SVG");
  add_common(chart);
  chart->add_option("--patient", chart_patient, "patient: ID or ID^AUTHORITY")
      ->required()
      ->transform(kPatient);
  chart->add_option("--marker", chart_marker, "marker name, alias or LOINC code (default AFP)");
  chart->add_option("-o,--output", chart_output, "SVG file to write (default: standard output)");

  cli::BackupArgs backup_args;
  auto* backup = app.add_subcommand(
      "backup", "copy the database into a new file, also while markerwatchd writes it");
  add_common(backup);
  auto* backup_file =
      backup->add_option("file", backup_args.file, "the new file (its folder must exist)");
  auto* backup_into = backup->add_option(
      "--into", backup_args.folder,
      "a folder to write markerwatch-YYYYMMDDThhmmss.mmmZ.db into (instead of FILE)");
  backup_file->excludes(backup_into);
  backup->add_option("--keep", backup_args.keep, "with --into: keep the newest N backups there")
      ->check(CLI::Range(1, 100000))
      ->needs(backup_into);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    if (*check) return cli::cmd_check_config(common);
    if (*import) {
      cli::prefer_huge_pages_for_heap();  // a large file's rows and records: hundreds of MB
      return cli::cmd_import(common, files);
    }
    if (*results) return cli::cmd_results(common, patient, marker, format, all_versions);
    if (*add) return cli::cmd_milestones_add(common, m);
    if (*remove) return cli::cmd_milestones_remove(common, removal);
    if (*list) return cli::cmd_milestones_list(common, list_patient, list_format);
    if (*history) return cli::cmd_milestones_history(common, history_patient, history_format);
    if (*show) return cli::cmd_message_show(common, message_id, show_raw);
    if (*prune) return cli::cmd_messages_prune(common, prune_args);
    if (*messages) return cli::cmd_messages(common, outcome, limit, messages_format);
    if (*senders) return cli::cmd_senders(common, senders_since, senders_format);
    if (*replay) {
      cli::prefer_huge_pages_for_heap();  // a replay's heap grows to gigabytes
      return cli::cmd_replay(common, replay_args);
    }
    if (*retry) return cli::cmd_deliveries_retry(common, retry_ids, retry_dead, retry_receiver);
    if (*deliveries) return cli::cmd_deliveries(common, deliveries_args);
    if (*webhook_test) return cli::cmd_webhook_test(common, test_name);
    if (*token_new) return cli::cmd_token_new(token_name, token_roles);
    if (*reevaluate) return cli::cmd_reevaluate(common, reevaluate_patient, reevaluate_format);
    if (*alerts) return cli::cmd_alerts(common, alerts_args);
    if (*alert_show) return cli::cmd_alert_show(common, alert_id);
    if (*alert_ack)
      return cli::cmd_alert_action(common, "acknowledge", alert_id, alert_by, alert_note);
    if (*alert_resolve)
      return cli::cmd_alert_action(common, "resolve", alert_id, alert_by, alert_note);
    if (*chart) return cli::cmd_chart(common, chart_patient, chart_marker, chart_output);
    if (*backup) return cli::cmd_backup(common, backup_args);
    if (*log) return cli::cmd_log(common, log_since, log_patient, log_limit, log_format);
  } catch (const settings::ConfigError& e) {
    std::cerr << "markerwatch: config error: " << e.what() << "\n";
    return 2;
  } catch (const InputError& e) {
    std::cerr << "markerwatch: " << e.what() << "\n";
    return 2;
  } catch (const store::StoreError& e) {
    std::cerr << "markerwatch: database error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "markerwatch: " << e.what() << "\n";
    return 2;
  }
  return 2;
}
