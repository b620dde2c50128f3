#pragma once
// What a receiver gets for one alert-log event, per its format (issue #4): the signed generic
// event, a Slack message, or Alertmanager alerts. Patient identity per the receiver's mode.
#include <cstdint>
#include <string>

#include "engine/alert_json.hpp"
#include "settings/settings.hpp"

namespace markerwatch::notify {

// `event` is the alert-log event object (engine::to_json(Event, patient)); `webhook_id` is the
// delivery's stable id; `now` the unix time the event is queued.
std::string webhook_body(const settings::WebhookSettings& receiver,
                         const settings::NotifySettings& notify, const engine::Json& event,
                         const std::string& webhook_id, std::int64_t now);

// "alert.new", "alert.update", ... ("alert.test" for `markerwatch webhook test`).
std::string event_type(const engine::Json& event);

}  // namespace markerwatch::notify
