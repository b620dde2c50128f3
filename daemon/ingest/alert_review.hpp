#pragma once
// A person's action on an alert (acknowledge or resolve): the alert's new state, its alert-log
// entry (who, when, why) and, for a resolution, the webhook deliveries of receivers subscribed to
// "resolve". Shared by `markerwatch alert ack|resolve` and the HTTP API. The caller holds the
// transaction.
#include <cstdint>
#include <string>

#include "notify/outbox.hpp"
#include "settings/settings.hpp"
#include "store/alert_store.hpp"

namespace markerwatch::ingest {

// The alert does not exist (InputError: the other refusals are conflicts with its state).
class AlertNotFound : public InputError {
 public:
  using InputError::InputError;
};

class AlertReview {
 public:
  AlertReview(store::Database& db, const settings::Settings& settings);
  // `action`: "acknowledge" or "resolve". Throws AlertNotFound, or InputError when the alert is
  // already resolved or retracted (or acknowledged, for "acknowledge") or `by`/`note` are invalid.
  void act(std::int64_t alert_id, const std::string& action, const std::string& by,
           const std::string& note, std::int64_t unix_now);

 private:
  store::AlertStore alerts_;
  notify::Outbox outbox_;
};

}  // namespace markerwatch::ingest
