#pragma once
// Delivers the outbox: one thread (never a network thread) with the libcurl multi interface, at
// most [notify] max_in_flight requests per receiver. It reads due deliveries on its own read-only
// connection and hands every attempt's record to the daemon's single writer (CONVENTIONS.md:
// exactly one connection writes); failures are retried on the receiver's schedule; pending and
// in-flight deliveries of a stopped or killed daemon are sent after it starts again, under the
// same webhook-id. A reload hands it new receivers and [notify] settings while it runs.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

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
  int http_status = 0;      // 0: no HTTP answer
  std::string error;        // transport error or ""
  std::string response;     // the first bytes of the answer
  std::string retry_after;  // the Retry-After header as received, "" without one
  std::int64_t latency_ms = 0;
};
PostResult post_signed(const settings::WebhookSettings& receiver, const std::string& webhook_id,
                       const std::string& body, std::int64_t timestamp);

// What identifies a receiver's configuration: a 410 disables it until this changes.
std::string receiver_fingerprint(const settings::WebhookSettings& receiver);

class Sender {
 public:
  // How the sender writes: `write` runs on the writer's thread inside its transaction, with the
  // writer's connection; `done` runs once that transaction committed (no failure) or failed (why),
  // on the writer's thread (it must be quick).
  using Write = store::Write;
  using WriteDone = store::WriteDone;
  using SubmitWrite = std::function<void(Write write, WriteDone done)>;

  // The writer behind `submit` must run from start() until stop() returns: stop() waits for the
  // last records to be written, and the statements the sender prepared on the writer's connection
  // are finalised there.
  // `settings` must outlive the sender, or be replaced by use_settings() first.
  Sender(const settings::Settings& settings, const Clock& clock, SubmitWrite submit);
  ~Sender();
  // Enables the receivers whose configuration changed since a 410 (through the writer, waiting
  // for it), then starts the thread. Throws when that cannot be written.
  void start();
  // A reload's receivers and [notify] settings (storage.path stays the one it was made with). It
  // returns at once; the sender's thread takes them up before it next reads the outbox, enabling
  // the receivers changed since a 410 as start() does. Requests in flight finish under the
  // receiver they started with; deliveries queued for a receiver no longer configured are dead
  // (as after a restart without it). Call it before any delivery for a new receiver can commit.
  void use_settings(std::shared_ptr<const settings::Settings> next);
  // New deliveries were committed: look now rather than at the next poll. Without receivers
  // nothing is queued for the sender, so it costs nothing then.
  void wake();
  // Lets in-flight requests finish (each bounded by its timeout), hands their records to the
  // writer, then joins the thread.
  void stop();
  SenderStats stats() const;

 private:
  struct Transfer;
  // What one attempt, or a delivery set aside without one, changes in the outbox.
  struct Record {
    std::int64_t delivery_id = 0;
    std::optional<store::AttemptRow> attempt = std::nullopt;  // none: set aside without one
    std::string state;
    int attempts = 0;
    std::optional<std::int64_t> next_attempt_at = std::nullopt;
    int last_status = 0;
    std::string reason, at;
    std::optional<std::string> disable_fingerprint = std::nullopt;  // a 410: disable the receiver
    std::string receiver;
  };
  // The outbox as the writer's connection sees it: made on the writer's thread at the first write,
  // used only there.
  struct WriterSide;
  WriterSide& writer_side(store::Database& db, const std::shared_ptr<const settings::Settings>& s);
  // Through the writer, waiting for it: enables the receivers of `s` whose configuration changed
  // since a 410, and gives the names of those still disabled. Throws when it cannot be written.
  std::set<std::string> enable_changed_receivers(
      const std::shared_ptr<const settings::Settings>& s);
  // On the sender's thread: takes up what use_settings() handed over, if anything.
  void adopt_new_settings();
  bool settings_pending() const;
  void interrupt();  // wakes the thread, receivers or not
  void run();
  void start_due_transfers();
  void finish(Transfer& t, int curl_code);
  // Hands the records gathered since the last call to the writer, in one write (one commit); their
  // deliveries are not picked again until it is done.
  void flush_records();
  // Not to be picked at time t: its record is on its way to the writer, just committed, or was
  // refused a little while ago.
  bool set_aside(std::int64_t delivery_id, std::int64_t t) const;
  std::int64_t now() const;

  // Read and replaced on the sender's thread only (before start(): on the caller's).
  std::shared_ptr<const settings::Settings> settings_;
  mutable std::mutex next_settings_mutex_;
  std::shared_ptr<const settings::Settings> next_settings_;  // handed over, not yet taken up
  std::atomic<bool> has_receivers_ = false;
  const Clock& clock_;
  SubmitWrite submit_;
  std::unique_ptr<store::Database> db_;  // read-only
  std::unique_ptr<store::DeliveryStore> store_;
  std::unique_ptr<WriterSide> writer_side_;
  std::vector<Record> records_;  // not yet handed to the writer
  mutable std::mutex recording_mutex_;
  std::set<std::int64_t> recording_;  // handed to the writer, not yet committed
  // Committed since the last look at the outbox began: that look may have read them before.
  std::set<std::int64_t> settled_;
  // Records the store refused, by delivery id: not sent again before this time (unix seconds).
  std::map<std::int64_t, std::int64_t> unrecorded_until_;
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
