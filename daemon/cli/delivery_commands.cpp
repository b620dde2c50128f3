// `markerwatch deliveries` (the delivery log), `deliveries retry`, and `webhook test`.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "core/clock.hpp"
#include "core/timestamp.hpp"
#include "engine/alert_json.hpp"
#include "notify/payload.hpp"
#include "notify/sender.hpp"
#include "store/delivery_store.hpp"

namespace markerwatch::cli {

int cmd_deliveries(const Common& c, const DeliveriesArgs& args) {
  auto s = load_settings(c);
  const auto format = parse_format(args.format);
  auto db = open_database(s, true);
  store::DeliveryStore deliveries(*db);
  store::DeliveryFilter filter;
  filter.state = args.state == "all" ? "" : args.state;
  filter.receiver = args.receiver;
  if (args.alert) filter.alert_id = args.alert;
  filter.limit = args.limit;
  const auto rows = deliveries.list(filter);
  if (format == Format::json) {
    print_json_rows(rows);
    return 0;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    std::string last;
    if (!r.attempt_log.empty()) {
      const auto& a = r.attempt_log.back();
      last = a.started_at + " " + (a.http_status ? std::to_string(a.http_status) : a.error) + " " +
             std::to_string(a.latency_ms) + "ms";
    }
    table.push_back({std::to_string(r.id), r.alert_id ? std::to_string(*r.alert_id) : "-",
                     r.receiver, r.event_type, r.state, std::to_string(r.attempts),
                     r.next_attempt_at ? format_utc(*r.next_attempt_at) : "", last, r.last_error});
  }
  std::cout << render(format,
                      {"id", "alert", "receiver", "type", "state", "attempts", "next_attempt",
                       "last_attempt", "reason"},
                      table, {true, true, false, false, false, true});
  return 0;
}

int cmd_deliveries_retry(const Common& c, const std::vector<std::int64_t>& ids, bool dead,
                         const std::string& receiver) {
  if (ids.empty() == !dead)
    throw InputError("give delivery ids, or --dead [--receiver NAME], not both");
  auto s = load_settings(c);
  auto db = open_database(s, true);
  store::DeliveryStore deliveries(*db);
  const auto now = unix_seconds(SystemClock());
  store::Transaction txn(*db);
  const int n = dead ? deliveries.retry_dead(receiver, now, format_utc(now))
                     : deliveries.retry(ids, now, format_utc(now));
  txn.commit();
  std::cout << n << " dead deliver" << (n == 1 ? "y" : "ies")
            << " queued again; the running daemon sends them now\n";
  return n == 0 && !ids.empty() ? 1 : 0;
}

int cmd_webhook_test(const Common& c, const std::string& name) {
  auto s = load_settings(c);
  const auto* receiver = settings::find_webhook(s, name);
  if (!receiver) throw InputError("no [[webhooks]] receiver named '" + name + "'");
  const auto now = unix_seconds(SystemClock());
  const engine::Json event = {
      {"event", "test"},
      {"alert_id", nullptr},
      {"patient_id", "TEST-PATIENT"},
      {"marker", "AFP"},
      {"severity", "standard"},
      {"summary", "markerwatch test event: this receiver is configured correctly"}};
  const auto id = "mw_test_" + std::to_string(now) + "_" + name;
  const auto body = notify::webhook_body(*receiver, s.notify, event, id, now);
  const auto result = notify::post_signed(*receiver, id, body, now);
  std::cout << "webhook-id: " << id << "\n";
  if (result.http_status == 0) {
    std::cout << "no answer: " << result.error << " (after " << result.latency_ms << " ms)\n";
    return 1;
  }
  std::cout << "HTTP " << result.http_status << " in " << result.latency_ms << " ms\n";
  if (!result.response.empty()) std::cout << "response: " << result.response << "\n";
  return result.http_status >= 200 && result.http_status < 300 ? 0 : 1;
}

}  // namespace markerwatch::cli
