#pragma once
// Delivers the outbox: one thread (never a network thread) with the libcurl multi interface, its
// own database connection, at most [notify] max_in_flight requests per receiver. Every attempt is
// recorded; failures are retried on the receiver's schedule; pending and in-flight deliveries of
// a stopped or killed daemon are sent after it starts again, under the same webhook-id.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "notify/outbox.hpp"
#include "settings/settings.hpp"
#include "store/delivery_store.hpp"

namespace markerwatch::notify {

struct SenderStats {
  std::uint64_t attempts = 0, delivered = 0, dead = 0;
};

// One HTTP POST as the sender makes it (also used by `markerwatch webhook test`).
struct PostResult {
  int http_status = 0;   // 0: no HTTP answer
  std::string error;     // transport error or ""
  std::string response;  // the first bytes of the answer
  std::optional<int> retry_after_s;
  std::int64_t latency_ms = 0;
};
PostResult post_signed(const settings::WebhookSettings& receiver, const std::string& webhook_id,
                       const std::string& body, std::int64_t timestamp);

// What identifies a receiver's configuration: a 410 disables it until this changes.
std::string receiver_fingerprint(const settings::WebhookSettings& receiver);

class Sender {
 public:
  Sender(const settings::Settings& settings, const Clock& clock);
  ~Sender();
  void start();
  // New deliveries were committed: look now rather than at the next poll.
  void wake();
  // Lets in-flight requests finish (each bounded by its timeout), then joins the thread.
  void stop();
  SenderStats stats() const;

 private:
  struct Transfer;
  void run();
  void start_due_transfers();
  void finish(Transfer& t, int curl_code);
  std::int64_t now() const;

  const settings::Settings& settings_;
  const Clock& clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::DeliveryStore> store_;
  std::unique_ptr<Outbox> outbox_;  // re-notifications
  std::int64_t next_renotify_check_ = 0;
  void* multi_ = nullptr;                                        // CURLM*
  std::map<std::int64_t, std::unique_ptr<Transfer>> in_flight_;  // by delivery id
  std::map<std::string, int> per_receiver_;
  // Receivers disabled by a 410 under their current configuration: read at start, then kept here
  // (only this sender disables), so picking a delivery needs no query.
  std::set<std::string> disabled_;
  std::atomic<bool> stopping_ = false;
  mutable std::mutex stats_mutex_;
  SenderStats stats_;
  std::thread thread_;
};

}  // namespace markerwatch::notify
