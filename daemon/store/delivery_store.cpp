#include "store/delivery_store.hpp"

#include "core/timestamp.hpp"

namespace markerwatch::store {

engine::Json to_json(const DeliveryRow& r) {
  engine::Json attempts = engine::Json::array();
  for (const auto& a : r.attempt_log)
    attempts.push_back({{"at", a.started_at},
                        {"http_status", a.http_status},
                        {"latency_ms", a.latency_ms},
                        {"error", a.error},
                        {"response", a.response}});
  return {{"id", r.id},
          {"alert_id", r.alert_id ? engine::Json(*r.alert_id) : engine::Json(nullptr)},
          {"receiver", r.receiver},
          {"webhook_id", r.webhook_id},
          {"type", r.event_type},
          {"state", r.state},
          {"attempts", r.attempts},
          {"next_attempt_at", r.next_attempt_at ? engine::Json(format_utc(*r.next_attempt_at))
                                                : engine::Json(nullptr)},
          {"last_status", r.last_status ? engine::Json(*r.last_status) : engine::Json(nullptr)},
          {"reason", r.last_error},
          {"created_at", r.created_at},
          {"attempt_log", attempts}};
}

DeliveryStore::DeliveryStore(Database& db)
    : db_(db),
      insert_(db.prepare(
          "INSERT INTO deliveries (event_id, alert_id, receiver, webhook_id, event_type, body, "
          "state, last_error, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, "
          "?, ?, ?, ?, ?)")),
      // INDEXED BY: left to itself the planner picks deliveries_by_state and sorts every pending
      // row for each pick (measured: ~4 ms per delivery with 14,000 queued).
      select_due_(db.prepare(
          "SELECT id, receiver, webhook_id, event_type, body, attempts FROM deliveries INDEXED BY "
          "deliveries_due WHERE "
          "state = 'pending' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2")),
      insert_attempt_(db.prepare(
          "INSERT INTO delivery_attempts (delivery_id, started_at, http_status, latency_ms, error, "
          "response) VALUES (?, ?, ?, ?, ?, ?)")),
      update_(db.prepare(
          "UPDATE deliveries SET state = ?2, attempts = ?3, next_attempt_at = ?4, last_status = "
          "?5, last_error = ?6, updated_at = ?7 WHERE id = ?1")),
      retry_one_(
          db.prepare("UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?2, "
                     "updated_at = ?3 WHERE id = ?1 AND state = 'dead'")),
      retry_dead_(
          db.prepare("UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?2, "
                     "updated_at = ?3 WHERE state = 'dead' AND (?1 = '' OR receiver = ?1)")),
      select_list_(db.prepare(
          "SELECT id, event_id, alert_id, receiver, webhook_id, event_type, state, attempts, "
          "next_attempt_at, last_status, last_error, created_at, updated_at FROM deliveries "
          "WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR receiver = ?2) AND (?3 IS NULL OR "
          "alert_id = ?3) ORDER BY id DESC LIMIT ?4")),
      select_attempts_(db.prepare(
          "SELECT started_at, http_status, latency_ms, error, response FROM delivery_attempts "
          "WHERE delivery_id = ?1 ORDER BY id")),
      upsert_disabled_(db.prepare(
          "INSERT INTO disabled_receivers (receiver, fingerprint, reason, disabled_at) VALUES (?1, "
          "?2, ?3, ?4) ON CONFLICT (receiver) DO UPDATE SET fingerprint = ?2, reason = ?3, "
          "disabled_at = ?4")),
      select_disabled_(
          db.prepare("SELECT 1 FROM disabled_receivers WHERE receiver = ?1 AND fingerprint = ?2")),
      select_renotify_(db.prepare(
          "SELECT a.id, p.identifier, a.evidence FROM alerts a JOIN patients p ON p.id = "
          "a.patient_id WHERE a.state = 'open' AND a.severity = 'high' AND EXISTS (SELECT 1 FROM "
          "deliveries d WHERE d.alert_id = a.id AND d.state <> 'skipped') AND NOT EXISTS (SELECT 1 "
          "FROM deliveries d WHERE d.alert_id = a.id AND d.created_at > ?1) ORDER BY a.id LIMIT "
          "?2")) {}

std::int64_t DeliveryStore::enqueue(const NewDelivery& d, const std::string& now) {
  if (d.event_id)
    insert_.bind(1, *d.event_id);
  else
    insert_.bind_null(1);
  if (d.alert_id)
    insert_.bind(2, *d.alert_id);
  else
    insert_.bind_null(2);
  insert_.bind(3, d.receiver)
      .bind(4, d.webhook_id)
      .bind(5, d.event_type)
      .bind(6, d.body)
      .bind(7, d.state)
      .bind(8, d.error);
  if (d.state == "pending")
    insert_.bind(9, d.next_attempt_at);
  else
    insert_.bind_null(9);
  insert_.bind(10, now).bind(11, now).run();
  return db_.last_insert_id();
}

std::vector<DueDelivery> DeliveryStore::due(std::int64_t now, int limit) {
  std::vector<DueDelivery> out;
  select_due_.bind(1, now).bind(2, limit);
  while (select_due_.step())
    out.push_back({select_due_.int64(0), select_due_.text(1), select_due_.text(2),
                   select_due_.text(3), select_due_.text(4),
                   static_cast<int>(select_due_.int64(5))});
  select_due_.reset();
  return out;
}

void DeliveryStore::record_attempt(std::int64_t delivery_id, const AttemptRow& a) {
  insert_attempt_.bind(1, delivery_id)
      .bind(2, a.started_at)
      .bind(3, a.http_status)
      .bind(4, a.latency_ms)
      .bind(5, a.error)
      .bind(6, a.response)
      .run();
}

void DeliveryStore::update(std::int64_t id, const std::string& state, int attempts,
                           std::optional<std::int64_t> next_attempt_at, int last_status,
                           const std::string& last_error, const std::string& now) {
  update_.bind(1, id).bind(2, state).bind(3, attempts);
  if (next_attempt_at)
    update_.bind(4, *next_attempt_at);
  else
    update_.bind_null(4);
  update_.bind(5, last_status).bind(6, last_error).bind(7, now).run();
}

int DeliveryStore::retry(const std::vector<std::int64_t>& ids, std::int64_t now,
                         const std::string& now_text) {
  int changed = 0;
  for (auto id : ids) {
    retry_one_.bind(1, id).bind(2, now).bind(3, now_text).run();
    changed += db_.changes();
  }
  return changed;
}

int DeliveryStore::retry_dead(const std::string& receiver, std::int64_t now,
                              const std::string& now_text) {
  retry_dead_.bind(1, receiver).bind(2, now).bind(3, now_text).run();
  return db_.changes();
}

std::vector<DeliveryRow> DeliveryStore::list(const DeliveryFilter& f) {
  // The rows and their attempts from one snapshot: the sender may commit between the queries.
  Savepoint snapshot(db_);
  std::vector<DeliveryRow> out;
  auto& q = select_list_;
  q.bind(1, f.state).bind(2, f.receiver);
  if (f.alert_id)
    q.bind(3, *f.alert_id);
  else
    q.bind_null(3);
  q.bind(4, f.limit);
  while (q.step()) {
    DeliveryRow r;
    r.id = q.int64(0);
    if (!q.is_null(1)) r.event_id = q.int64(1);
    if (!q.is_null(2)) r.alert_id = q.int64(2);
    r.receiver = q.text(3);
    r.webhook_id = q.text(4);
    r.event_type = q.text(5);
    r.state = q.text(6);
    r.attempts = static_cast<int>(q.int64(7));
    if (!q.is_null(8)) r.next_attempt_at = q.int64(8);
    if (!q.is_null(9)) r.last_status = static_cast<int>(q.int64(9));
    r.last_error = q.text(10);
    r.created_at = q.text(11);
    r.updated_at = q.text(12);
    out.push_back(std::move(r));
  }
  q.reset();
  for (auto& r : out) {
    select_attempts_.bind(1, r.id);
    while (select_attempts_.step())
      r.attempt_log.push_back(
          {select_attempts_.text(0), static_cast<int>(select_attempts_.int64(1)),
           select_attempts_.int64(2), select_attempts_.text(3), select_attempts_.text(4)});
    select_attempts_.reset();
  }
  snapshot.release();
  return out;
}

std::vector<DeliveryStore::RenotifyCandidate> DeliveryStore::renotify_candidates(
    const std::string& cutoff, int limit) {
  std::vector<RenotifyCandidate> out;
  select_renotify_.bind(1, cutoff).bind(2, limit);
  while (select_renotify_.step())
    out.push_back({select_renotify_.int64(0), select_renotify_.text(1), select_renotify_.text(2)});
  select_renotify_.reset();
  return out;
}

void DeliveryStore::disable_receiver(const std::string& receiver, const std::string& fingerprint,
                                     const std::string& reason, const std::string& now) {
  upsert_disabled_.bind(1, receiver).bind(2, fingerprint).bind(3, reason).bind(4, now).run();
}

bool DeliveryStore::receiver_disabled(const std::string& receiver, const std::string& fingerprint) {
  select_disabled_.bind(1, receiver).bind(2, fingerprint);
  const bool found = select_disabled_.step();
  select_disabled_.reset();
  return found;
}

bool DeliveryStore::enable_if_changed(const std::string& receiver, const std::string& fingerprint,
                                      std::int64_t now) {
  auto drop =
      db_.prepare("DELETE FROM disabled_receivers WHERE receiver = ?1 AND fingerprint <> ?2");
  drop.bind(1, receiver).bind(2, fingerprint).run();
  if (db_.changes() == 0) return false;
  auto due_now = db_.prepare(
      "UPDATE deliveries SET next_attempt_at = ?2 WHERE state = 'pending' AND receiver = ?1");
  due_now.bind(1, receiver).bind(2, now).run();
  return true;
}

}  // namespace markerwatch::store
