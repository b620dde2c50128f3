#include "ingest/alert_review.hpp"

#include "core/text.hpp"
#include "core/timestamp.hpp"

namespace markerwatch::ingest {

AlertReview::AlertReview(store::Database& db, const settings::Settings& settings)
    : alerts_(db), outbox_(db, settings) {}

void AlertReview::act(std::int64_t alert_id, const std::string& action, const std::string& by,
                      const std::string& note, std::int64_t unix_now) {
  if (action != "acknowledge" && action != "resolve")
    throw InputError("the action is acknowledge or resolve");
  if (text::trim(by).empty() || by.size() > 200)
    throw InputError("'by' needs a name (at most 200 characters)");
  if (note.size() > 4000) throw InputError("the note is longer than 4000 characters");
  if (!text::is_valid_utf8(by) || !text::is_valid_utf8(note))
    throw InputError("'by' and the note must be valid UTF-8");
  const auto row = alerts_.alert(alert_id);
  if (!row) throw AlertNotFound("no alert with id " + std::to_string(alert_id));
  engine::Event event;
  const auto event_id =
      alerts_.person_action(alert_id, action, by, note, format_utc(unix_now), event);
  // A person's resolution is notified like the data's (receivers subscribed to "resolve").
  if (action == "resolve") outbox_.queue({event}, {event_id}, row->patient_id, unix_now);
}

}  // namespace markerwatch::ingest
