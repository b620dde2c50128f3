#pragma once
// The JSON shape of alerts and alert events (issue #3 "JSON format"): the replay output, the
// evidence kept with each alert, and the detail of every alert-log entry share it.
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "engine/alert.hpp"
#include "engine/reconcile.hpp"

namespace markerwatch::engine {

// Keys keep the order written here, so a JSON line reads like the table.
using Json = nlohmann::ordered_json;

// The same documents as text, written directly (the alert log and replay write one per event).
std::string alert_json_text(const Alert& a);
// `alert_text`, when given, is alert_json_text(*e.alert), already written for the same event.
// `alert_id_at`, when given, receives where the alert id's digits are (offset, length; 0, 0 for
// a note, whose alert_id is null).
std::string event_json_text(const Event& e, const std::string& patient,
                            const std::string* alert_text = nullptr,
                            std::pair<std::size_t, std::size_t>* alert_id_at = nullptr);
// The same text appended to `out`; `alert_id_at` counts from where it starts.
void append_event_json(std::string& out, const Event& e, const std::string& patient,
                       const std::string* alert_text = nullptr,
                       std::pair<std::size_t, std::size_t>* alert_id_at = nullptr);

Json to_json(const Alert& a);
// Throws std::exception (nlohmann or std::invalid_argument) on a malformed document.
Alert alert_from_json(const Json& j);

// One event object: `event`, `alert_id`, `patient_id`, then the alert's state or the note.
Json to_json(const Event& e, const std::string& patient);

}  // namespace markerwatch::engine
