#pragma once
// The webhook outbox: deliveries queued with their alert events, picked when due, and every
// attempt recorded. All SQL of deliveries lives here.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/alert_json.hpp"
#include "store/database.hpp"

namespace markerwatch::store {

struct NewDelivery {
  std::optional<std::int64_t> event_id, alert_id;
  std::string receiver, webhook_id, event_type, body;
  std::string state = "pending";  // or "skipped" (with the reason in `error`)
  std::string error;
  std::int64_t next_attempt_at = 0;
};

struct DueDelivery {
  std::int64_t id = 0;
  std::string receiver, webhook_id, event_type, body;
  int attempts = 0;
};

struct AttemptRow {
  std::string started_at;
  int http_status = 0;
  std::int64_t latency_ms = 0;
  std::string error, response;
};

struct DeliveryRow {
  std::int64_t id = 0;
  std::optional<std::int64_t> event_id, alert_id;
  std::string receiver, webhook_id, event_type, state, last_error, created_at, updated_at;
  int attempts = 0;
  std::optional<std::int64_t> next_attempt_at;
  std::optional<int> last_status;
  std::vector<AttemptRow> attempt_log;
};

// The machine form of a delivery with every attempt (CLI --format json and the HTTP API).
engine::Json to_json(const DeliveryRow& row);

struct DeliveryFilter {
  std::string state;  // "" = any
  std::string receiver;
  std::optional<std::int64_t> alert_id;
  int limit = 200;
};

class DeliveryStore {
 public:
  explicit DeliveryStore(Database& db);

  std::int64_t enqueue(const NewDelivery& d, const std::string& now);
  // Pending deliveries due at `now`, oldest first.
  std::vector<DueDelivery> due(std::int64_t now, int limit);
  void record_attempt(std::int64_t delivery_id, const AttemptRow& a);
  // After an attempt: the new state, the attempts made so far and, while pending, when next.
  void update(std::int64_t id, const std::string& state, int attempts,
              std::optional<std::int64_t> next_attempt_at, int last_status,
              const std::string& last_error, const std::string& now);
  // Dead deliveries (by id, or every dead one of a receiver or all) back to pending, due now, with
  // a fresh schedule. Returns how many.
  int retry(const std::vector<std::int64_t>& ids, std::int64_t now, const std::string& now_text);
  int retry_dead(const std::string& receiver, std::int64_t now, const std::string& now_text);

  std::vector<DeliveryRow> list(const DeliveryFilter& f);

  // Open (unacknowledged) high-severity alerts that were notified (not only skipped) and have had
  // no delivery since `cutoff` (ISO UTC): due for [notify] renotify_after.
  struct RenotifyCandidate {
    std::int64_t alert_id = 0;
    std::string patient, evidence;
  };
  std::vector<RenotifyCandidate> renotify_candidates(const std::string& cutoff, int limit);

  void disable_receiver(const std::string& receiver, const std::string& fingerprint,
                        const std::string& reason, const std::string& now);
  bool receiver_disabled(const std::string& receiver, const std::string& fingerprint);
  // A receiver disabled under another configuration is enabled again, its waiting deliveries due
  // now. Returns true when that happened.
  bool enable_if_changed(const std::string& receiver, const std::string& fingerprint,
                         std::int64_t now);

 private:
  Database& db_;
  Statement insert_, select_due_, insert_attempt_, update_, retry_one_, retry_dead_, select_list_,
      select_attempts_, upsert_disabled_, select_disabled_, select_renotify_;
};

}  // namespace markerwatch::store
