#include "notify/outbox.hpp"

#include "core/timestamp.hpp"
#include "engine/alert_json.hpp"
#include "notify/payload.hpp"
#include "notify/policy.hpp"

namespace markerwatch::notify {

namespace {

RoutedEvent routed(const engine::Event& e) {
  RoutedEvent r;
  r.type = std::string(engine::to_string(e.type));
  if (e.alert) {
    r.marker = e.alert->identity.marker;
    r.severity = std::string(engine::to_string(e.alert->severity));
    r.severity_raised = e.previous_severity && *e.previous_severity == engine::Severity::standard &&
                        e.alert->severity == engine::Severity::high;
    r.fire_day = e.alert->fire_day;
  } else {
    r.marker = e.note->marker;
    r.fire_day = e.note->fire_day.value_or(e.note->day);
  }
  return r;
}

}  // namespace

std::string webhook_id(std::int64_t event_id, const std::string& receiver) {
  return "mw_" + std::to_string(event_id) + "_" + receiver;
}

Outbox::Outbox(store::Database& db, const settings::Settings& settings)
    : settings_(settings), store_(db) {}

int Outbox::queue(const std::vector<engine::Event>& events,
                  const std::vector<std::int64_t>& event_ids, const std::string& patient,
                  std::int64_t now) {
  if (settings_.webhooks.empty()) return 0;
  int queued = 0;
  const int today = static_cast<int>(now / 86400);
  const auto now_text = format_utc(now);
  for (std::size_t i = 0; i < events.size() && i < event_ids.size(); ++i) {
    const auto route = routed(events[i]);
    std::optional<engine::Json> json;
    for (const auto& receiver : settings_.webhooks) {
      if (!wants(receiver, route)) continue;
      if (!json) json = engine::to_json(events[i], patient);
      store::NewDelivery d;
      d.event_id = event_ids[i];
      if (events[i].alert) d.alert_id = events[i].alert_id;
      d.receiver = receiver.name;
      d.webhook_id = webhook_id(event_ids[i], receiver.name);
      d.event_type = event_type(*json);
      d.body = webhook_body(receiver, settings_.notify, *json, d.webhook_id, now);
      d.next_attempt_at = now + receiver.retry_schedule.front();
      if (auto reason = too_old(settings_.notify, route, today)) {
        d.state = "skipped";
        d.error = *reason;
      }
      store_.enqueue(d, now_text);
      ++queued;
    }
  }
  return queued;
}

int Outbox::queue_renotifications(std::int64_t now) {
  if (settings_.notify.renotify_after_s == 0 || settings_.webhooks.empty()) return 0;
  const auto now_text = format_utc(now);
  int queued = 0;
  for (const auto& c :
       store_.renotify_candidates(format_utc(now - settings_.notify.renotify_after_s), 100)) {
    engine::Json event = {
        {"event", "renotify"}, {"alert_id", c.alert_id}, {"patient_id", c.patient}};
    event.update(engine::Json::parse(c.evidence));
    event["state"] = "open";
    RoutedEvent route{"new", event.value("marker", std::string()), "high", false, 0};
    for (const auto& receiver : settings_.webhooks) {
      if (!wants(receiver, route)) continue;
      store::NewDelivery d;
      d.alert_id = c.alert_id;
      d.receiver = receiver.name;
      d.webhook_id = "mw_renotify_" + std::to_string(c.alert_id) + "_" + std::to_string(now) + "_" +
                     receiver.name;
      d.event_type = "alert.renotify";
      d.body = webhook_body(receiver, settings_.notify, event, d.webhook_id, now);
      d.next_attempt_at = now + receiver.retry_schedule.front();
      store_.enqueue(d, now_text);
      ++queued;
    }
  }
  return queued;
}

}  // namespace markerwatch::notify
