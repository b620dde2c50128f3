#pragma once
// The transactional outbox (INTEROP.md §4.5): for every alert-log event just written, one delivery
// per matching receiver, in the same transaction. Nothing is sent before that commit.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/reconcile.hpp"
#include "settings/settings.hpp"
#include "store/delivery_store.hpp"

namespace markerwatch::notify {

class Outbox {
 public:
  Outbox(store::Database& db, const settings::Settings& settings);

  // `event_ids[i]` is the alert-log row of `events[i]`. Returns the deliveries queued (skipped
  // backfills included: they are logged with their reason).
  int queue(const std::vector<engine::Event>& events, const std::vector<std::int64_t>& event_ids,
            const std::string& patient, std::int64_t now);
  // [notify] renotify_after: open, unacknowledged high-severity alerts notified before and quiet
  // since then are sent again ("alert.renotify") to the receivers that get new alerts.
  int queue_renotifications(std::int64_t now);

 private:
  const settings::Settings& settings_;
  store::DeliveryStore store_;
};

// The stable id of the delivery of one event to one receiver (constant across retries and
// restarts; never contains '.').
std::string webhook_id(std::int64_t event_id, const std::string& receiver);

}  // namespace markerwatch::notify
