#include "notify/payload.hpp"

#include "core/timestamp.hpp"
#include "notify/signature.hpp"

namespace markerwatch::notify {

using engine::Json;

namespace {

// The patient as the receiver may see it, or null.
Json patient_of(const settings::WebhookSettings& r, const settings::NotifySettings& n,
                const Json& event) {
  const auto id = event.value("patient_id", std::string());
  switch (r.patient_id) {
    case settings::PatientIdMode::id:
      return Json{{"id", id}};
    case settings::PatientIdMode::pseudonym:
      return Json{{"pseudonym", pseudonym(n.pseudonym_key, id)}};
    case settings::PatientIdMode::none:
      break;
  }
  return nullptr;
}

std::string patient_text(const Json& patient) {
  if (patient.is_null()) return "a patient";
  if (patient.contains("id")) return "patient " + patient["id"].get<std::string>();
  return "patient ref " + patient["pseudonym"].get<std::string>();
}

Json data_of(const settings::WebhookSettings& r, const settings::NotifySettings& n,
             const Json& event) {
  Json data = Json::object();
  for (auto it = event.begin(); it != event.end(); ++it)
    if (it.key() != "event" && it.key() != "patient_id") data[it.key()] = it.value();
  data["patient"] = patient_of(r, n, event);
  return data;
}

std::string slack_text(const Json& event, const Json& patient) {
  const auto type = event.value("event", std::string());
  const auto marker = event.value("marker", std::string());
  if (!event.contains("class") || event["alert_id"].is_null()) {
    return "markerwatch " + type + " (" + marker + ", " + patient_text(patient) +
           "): " + event.value("summary", std::string());
  }
  const auto severity = event.value("severity", std::string());
  std::string verb = type == "new"       ? "new alert"
                     : type == "resolve" ? "resolved"
                     : type == "retract" ? "retracted (the data no longer support it)"
                                         : "updated";
  return std::string(severity == "high" ? "*HIGH* " : "") + marker + " " +
         event.value("class", std::string()) + " alert #" +
         std::to_string(event["alert_id"].get<std::int64_t>()) + " " + verb + " for " +
         patient_text(patient) + ": " + event.value("summary", std::string());
}

Json alertmanager_alerts(const settings::WebhookSettings& r, const settings::NotifySettings& n,
                         const Json& event, std::int64_t now) {
  const auto type = event.value("event", std::string());
  Json labels = {{"alertname", "markerwatch_" + event.value("class", std::string("note"))},
                 {"marker", event.value("marker", std::string())},
                 {"severity", event.value("severity", std::string("info"))},
                 {"source", "markerwatch"}};
  if (!event["alert_id"].is_null())
    labels["alert_id"] = std::to_string(event["alert_id"].get<std::int64_t>());
  const auto patient = patient_of(r, n, event);
  if (!patient.is_null())
    labels["patient"] = patient.contains("id") ? patient["id"] : patient["pseudonym"];
  std::string rules;
  if (event.contains("rules"))
    for (const auto& rule : event["rules"])
      rules += (rules.empty() ? "" : ",") + rule.get<std::string>();
  Json annotations = {{"summary", event.value("summary", std::string())},
                      {"rules", rules},
                      {"event_date", event.value("event_date", std::string())},
                      {"fire_date", event.value("fire_date", std::string())}};
  // Firing alerts stay active for a year unless markerwatch resolves or retracts them (the
  // default resolve_timeout would end them after 5 minutes).
  const bool ended = type == "resolve" || type == "retract";
  return Json::array({{{"labels", labels},
                       {"annotations", annotations},
                       {"startsAt", format_utc(now)},
                       {"endsAt", format_utc(ended ? now : now + 365LL * 86400)},
                       {"generatorURL", "markerwatch://alerts/" + labels.value("alert_id", "")}}});
}

}  // namespace

std::string event_type(const Json& event) {
  return "alert." + event.value("event", std::string());
}

std::string webhook_body(const settings::WebhookSettings& r, const settings::NotifySettings& n,
                         const Json& event, const std::string& webhook_id, std::int64_t now) {
  switch (r.format) {
    case settings::WebhookFormat::json:
      return Json{{"type", event_type(event)},
                  {"id", webhook_id},
                  {"timestamp", format_utc(now)},
                  {"version", 1},
                  {"data", data_of(r, n, event)}}
          .dump();
    case settings::WebhookFormat::slack:
      return Json{{"text", slack_text(event, patient_of(r, n, event))}}.dump();
    case settings::WebhookFormat::alertmanager:
      return alertmanager_alerts(r, n, event, now).dump();
  }
  return "{}";
}

}  // namespace markerwatch::notify
