#include "notify/sender.hpp"

#include <pthread.h>

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <utility>

#include "core/text.hpp"
#include "core/timestamp.hpp"
#include "logging/module_logger.hpp"
#include "notify/outgoing_request.hpp"
#include "notify/policy.hpp"
#include "notify/signature.hpp"
#include "store/sha256.hpp"

namespace markerwatch::notify {

namespace {

constexpr std::size_t kResponseKept = 512;
constexpr int kPollMs = 1000;
constexpr int kDisabledRecheckS = 60;
constexpr int kUnrecordedHoldS = 60;
constexpr std::size_t kDeadPerRoundWithoutReceivers = 64;

std::shared_ptr<spdlog::logger> log() {
  static auto logger = logging::module_logger("notify");
  return logger;
}

size_t keep_response(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<std::string*>(user);
  const auto n = size * count;
  if (out->size() < kResponseKept) out->append(data, std::min(n, kResponseKept - out->size()));
  return n;
}

size_t read_header(char* data, size_t size, size_t count, void* user) {
  auto* retry_after = static_cast<std::string*>(user);
  const std::string_view line(data, size * count);
  const auto colon = line.find(':');
  // Kept as received: an HTTP date is turned into a delay when the attempt is recorded.
  if (colon != std::string_view::npos && text::iequals(line.substr(0, colon), "retry-after"))
    *retry_after = text::trim(line.substr(colon + 1));
  return size * count;
}

}  // namespace

// One request: the easy handle and everything it points to, alive until it completes.
struct Sender::Transfer {
  std::int64_t delivery_id = 0;
  // The receiver's configuration it started under, kept alive across a reload that changes it.
  std::shared_ptr<const settings::Settings> settings;
  const settings::WebhookSettings* receiver = nullptr;
  int attempts = 0;
  std::string body;
  std::string started_at;
  std::chrono::steady_clock::time_point started;
  std::string response;
  std::string retry_after;  // the header as received, "" without one
  curl_slist* headers = nullptr;
  CURL* easy = nullptr;
  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
  }
};

std::string receiver_fingerprint(const settings::WebhookSettings& r) {
  std::string all =
      r.name + "\n" + r.url + "\n" + r.secret + "\n" + std::to_string(static_cast<int>(r.format));
  for (const auto& [k, v] : r.headers) all += "\n" + k + ":" + v;
  return store::sha256_hex(all);
}

namespace {

// Prepares an easy handle for one signed POST. `headers` receives the list to free.
CURL* make_request(const settings::WebhookSettings& r, const std::string& webhook_id,
                   const std::string& body, std::int64_t timestamp, curl_slist*& headers,
                   std::string* response, std::string* retry_after) {
  CURL* easy = curl_easy_init();
  if (!easy) return nullptr;
  headers = curl_slist_append(headers, "content-type: application/json");
  headers = curl_slist_append(headers, ("webhook-id: " + webhook_id).c_str());
  headers = curl_slist_append(headers, ("webhook-timestamp: " + std::to_string(timestamp)).c_str());
  if (auto key = webhook_key(r.secret))
    headers = curl_slist_append(
        headers, ("webhook-signature: " + sign(*key, webhook_id, timestamp, body)).c_str());
  for (const auto& [k, v] : r.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
  headers = curl_slist_append(headers, "expect:");  // no 100-continue round trip
  curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  set_outgoing_options(easy, r.timeout_s, r.tls_verify, r.ca_file);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, keep_response);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, response);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, read_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, retry_after);
  return easy;
}

}  // namespace

PostResult post_signed(const settings::WebhookSettings& r, const std::string& webhook_id,
                       const std::string& body, std::int64_t timestamp) {
  ensure_curl();
  PostResult out;
  curl_slist* headers = nullptr;
  const auto started = std::chrono::steady_clock::now();
  CURL* easy =
      make_request(r, webhook_id, body, timestamp, headers, &out.response, &out.retry_after);
  if (!easy) {
    out.error = "cannot create a request";
    return out;
  }
  const auto code = curl_easy_perform(easy);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  out.http_status = code == CURLE_OK ? static_cast<int>(status) : 0;
  if (code != CURLE_OK) out.error = curl_easy_strerror(code);
  out.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - started)
                       .count();
  curl_easy_cleanup(easy);
  curl_slist_free_all(headers);
  return out;
}

struct Sender::WriterSide {
  WriterSide(store::Database& on, std::shared_ptr<const settings::Settings> with)
      : db(&on), settings(std::move(with)), deliveries(on), outbox(on, *settings) {}
  const store::Database* db;
  std::shared_ptr<const settings::Settings> settings;
  store::DeliveryStore deliveries;
  Outbox outbox;  // re-notifications
};

Sender::Sender(const settings::Settings& settings, const Clock& clock, SubmitWrite submit)
    : settings_(&settings, [](const settings::Settings*) {}),
      has_receivers_(!settings.webhooks.empty()),
      clock_(clock),
      submit_(std::move(submit)) {
  ensure_curl();
  db_ = std::make_unique<store::Database>(settings.storage.path, store::read_only_options());
  store_ = std::make_unique<store::DeliveryStore>(*db_);
  multi_ = curl_multi_init();
}

Sender::~Sender() {
  stop();
  in_flight_.clear();
  if (multi_) curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

std::int64_t Sender::now() const {
  return unix_seconds(clock_);
}

Sender::WriterSide& Sender::writer_side(store::Database& db,
                                        const std::shared_ptr<const settings::Settings>& s) {
  if (!writer_side_ || writer_side_->db != &db || writer_side_->settings != s)
    writer_side_ = std::make_unique<WriterSide>(db, s);
  return *writer_side_;
}

std::set<std::string> Sender::enable_changed_receivers(
    const std::shared_ptr<const settings::Settings>& s) {
  // A receiver disabled by a 410 resumes when its configuration has changed since.
  std::promise<std::optional<std::string>> written;
  std::set<std::string> disabled;
  submit_(
      [&](store::Database& db) {
        auto& deliveries = writer_side(db, s).deliveries;
        for (const auto& w : s->webhooks) {
          const auto fingerprint = receiver_fingerprint(w);
          if (deliveries.enable_if_changed(w.name, fingerprint, now()))
            log()->info(
                "event=receiver_enabled receiver={} reason=\"configuration changed since it "
                "answered 410\"",
                w.name);
          if (deliveries.receiver_disabled(w.name, fingerprint)) disabled.insert(w.name);
        }
      },
      [&](std::optional<std::string> failure) { written.set_value(std::move(failure)); });
  if (auto failure = written.get_future().get())
    throw std::runtime_error("cannot enable the webhook receivers: " + *failure);
  return disabled;
}

void Sender::start() {
  disabled_ = enable_changed_receivers(settings_);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "mw-sender");
    run();
  });
}

void Sender::use_settings(std::shared_ptr<const settings::Settings> next) {
  has_receivers_ = !next->webhooks.empty();
  {
    std::lock_guard lock(next_settings_mutex_);
    next_settings_ = std::move(next);
  }
  interrupt();
}

bool Sender::settings_pending() const {
  std::lock_guard lock(next_settings_mutex_);
  return next_settings_ != nullptr;
}

void Sender::adopt_new_settings() {
  std::shared_ptr<const settings::Settings> next;
  {
    std::lock_guard lock(next_settings_mutex_);
    next = std::exchange(next_settings_, nullptr);
  }
  if (!next) return;
  try {
    disabled_ = enable_changed_receivers(next);
  } catch (const std::exception& e) {
    // The receivers disabled so far stay so; a later reload or a restart tries again.
    log()->error("event=receiver_enable_failed error=\"{}\"", text::printable(e.what(), 200));
  }
  std::erase_if(disabled_, [&next](const std::string& name) {
    return settings::find_webhook(*next, name) == nullptr;
  });
  settings_ = std::move(next);
  next_renotify_check_ = 0;  // renotify_after may have changed
  log()->info("event=sender_settings_applied receivers={} disabled={}", settings_->webhooks.size(),
              disabled_.size());
}

void Sender::wake() {
  if (has_receivers_.load(std::memory_order_relaxed)) interrupt();
}

void Sender::interrupt() {
  if (multi_) curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

void Sender::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  interrupt();
  thread_.join();
  // The writer runs the writes in the order they came, so once this one is done every record
  // before it is written (or failed) and answered; the statements prepared on the writer's
  // connection are finalised on its thread.
  std::promise<std::optional<std::string>> released;
  try {
    submit_([this](store::Database&) { writer_side_.reset(); },
            [&released](std::optional<std::string> failure) {
              released.set_value(std::move(failure));
            });
    if (auto failure = released.get_future().get()) {
      // Refused (the writer stopped first: its thread is gone) or not committed (the reset ran
      // on the writer's thread already): either way nobody else uses these statements now.
      log()->warn("event=sender_final_write_failed error=\"{}\"", text::printable(*failure, 200));
      writer_side_.reset();
    }
  } catch (const std::exception& e) {
    log()->error("event=sender_stop_failed error=\"{}\"", text::printable(e.what(), 200));
  }
}

SenderStats Sender::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

void Sender::start_due_transfers() {
  const auto t = now();
  const auto& s = *settings_;
  const auto capacity = s.webhooks.size() * static_cast<std::size_t>(s.notify.max_in_flight);
  if (s.notify.renotify_after_s > 0 && t >= next_renotify_check_) {
    next_renotify_check_ = t + std::min(60, s.notify.renotify_after_s);
    auto queued = std::make_shared<int>(0);
    submit_(
        [this, t, queued, with = settings_](store::Database& db) {
          *queued = writer_side(db, with).outbox.queue_renotifications(t);
        },
        [this, queued](std::optional<std::string> failure) {
          if (failure) {
            log()->error("event=renotify_failed error=\"{}\"", text::printable(*failure, 200));
          } else if (*queued > 0) {
            // Logged once committed: a rolled-back batch queued nothing.
            log()->info("event=renotify_queued deliveries={}", *queued);
            wake();  // send them now rather than at the next poll
          }
        });
  }
  // Every receiver busy: no need to look. Without receivers (a reload removed them all) what is
  // still queued is read, to be set dead.
  if (capacity > 0 && in_flight_.size() >= capacity) return;
  std::size_t unrecorded = 0;
  {
    // What was recorded before now is in what due() reads next; what is recorded from now on
    // may not be, so it is still set aside in this round (settled_).
    std::lock_guard lock(recording_mutex_);
    settled_.clear();
    std::erase_if(unrecorded_until_, [t](const auto& held) { return held.second <= t; });
    unrecorded = recording_.size() + unrecorded_until_.size();
  }
  const auto limit = static_cast<int>(in_flight_.size() + unrecorded +
                                      (capacity > 0 ? capacity : kDeadPerRoundWithoutReceivers));
  const auto due = store_->due(t, limit);
  // What was read may be queued under a reload's configuration not taken up yet (a receiver
  // added, or one removed): it waits for the next round, which takes it up first.
  if (settings_pending()) return;
  for (const auto& d : due) {
    if (in_flight_.count(d.id) || set_aside(d.id, t)) continue;
    const auto* receiver = settings::find_webhook(s, d.receiver);
    if (!receiver) {
      records_.push_back({.delivery_id = d.id,
                          .state = "dead",
                          .attempts = d.attempts,
                          .reason = "receiver '" + d.receiver + "' is no longer configured",
                          .at = format_utc(t),
                          .receiver = d.receiver});
      continue;
    }
    if (disabled_.count(receiver->name)) {
      records_.push_back(
          {.delivery_id = d.id,
           .state = "pending",
           .attempts = d.attempts,
           .next_attempt_at = t + kDisabledRecheckS,
           .last_status = 410,
           .reason = "receiver disabled after 410 Gone; change its configuration to resume",
           .at = format_utc(t),
           .receiver = d.receiver});
      continue;
    }
    if (per_receiver_[receiver->name] >= s.notify.max_in_flight) continue;
    auto transfer = std::make_unique<Transfer>();
    transfer->delivery_id = d.id;
    transfer->settings = settings_;
    transfer->receiver = receiver;
    transfer->attempts = d.attempts;
    transfer->body = d.body;
    transfer->started_at = format_utc(t);
    transfer->started = std::chrono::steady_clock::now();
    transfer->easy = make_request(*receiver, d.webhook_id, transfer->body, t, transfer->headers,
                                  &transfer->response, &transfer->retry_after);
    if (!transfer->easy) continue;
    curl_easy_setopt(transfer->easy, CURLOPT_PRIVATE, transfer.get());
    curl_multi_add_handle(static_cast<CURLM*>(multi_), transfer->easy);
    ++per_receiver_[receiver->name];
    in_flight_.emplace(d.id, std::move(transfer));
  }
}

void Sender::finish(Transfer& tr, int curl_code) {
  long status = 0;
  curl_easy_getinfo(tr.easy, CURLINFO_RESPONSE_CODE, &status);
  const int http_status = curl_code == CURLE_OK ? static_cast<int>(status) : 0;
  const std::string error =
      curl_code == CURLE_OK ? "" : curl_easy_strerror(static_cast<CURLcode>(curl_code));
  const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - tr.started)
                           .count();
  const auto t = now();
  const int attempts = tr.attempts + 1;
  const auto* receiver = tr.receiver;
  const auto fingerprint =
      http_status == 410 ? std::optional(receiver_fingerprint(*receiver)) : std::nullopt;
  std::string state = "pending", reason = error;
  std::optional<std::int64_t> next;
  switch (classify(http_status)) {
    case AttemptVerdict::delivered:
      state = "delivered";
      break;
    case AttemptVerdict::retry:
      next =
          next_attempt(receiver->retry_schedule, attempts, t, parse_retry_after(tr.retry_after, t));
      if (!next) {
        state = "dead";
        reason = "retry schedule exhausted after " + std::to_string(attempts) + " attempts" +
                 (error.empty() ? "" : ": " + error);
      }
      if (reason.empty()) reason = "HTTP " + std::to_string(http_status);
      break;
    case AttemptVerdict::dead:
      state = "dead";
      reason = "HTTP " + std::to_string(http_status) + " (not retried)";
      break;
    case AttemptVerdict::disable_receiver:
      reason = "HTTP 410 Gone: receiver disabled until its configuration changes";
      next = t + kDisabledRecheckS;
      break;
  }
  records_.push_back({.delivery_id = tr.delivery_id,
                      .attempt = store::AttemptRow{tr.started_at, http_status, latency, error,
                                                   text::printable(tr.response, kResponseKept)},
                      .state = state,
                      .attempts = attempts,
                      .next_attempt_at = next,
                      .last_status = http_status,
                      .reason = reason,
                      .at = format_utc(t),
                      .disable_fingerprint = fingerprint,
                      .receiver = receiver->name});
  if (fingerprint) {
    // A reload that changed the receiver while this request was in flight has lifted the 410
    // already: the record keeps the old configuration's fingerprint, which the new one is not.
    const auto* configured = settings::find_webhook(*settings_, receiver->name);
    if (configured && receiver_fingerprint(*configured) == *fingerprint) {
      disabled_.insert(receiver->name);
      log()->warn(
          "event=receiver_disabled receiver={} reason=\"410 Gone; change its configuration "
          "to resume\"",
          receiver->name);
    }
  }
  log()->info("event=delivery_attempt delivery_id={} receiver={} status={} latency_ms={} state={}",
              tr.delivery_id, receiver->name, http_status, latency, state);
  std::lock_guard lock(stats_mutex_);
  ++stats_.attempts;
  stats_.delivered += state == "delivered";
  stats_.dead += state == "dead";
}

bool Sender::set_aside(std::int64_t delivery_id, std::int64_t t) const {
  std::lock_guard lock(recording_mutex_);
  if (recording_.count(delivery_id) > 0 || settled_.count(delivery_id) > 0) return true;
  const auto held = unrecorded_until_.find(delivery_id);
  return held != unrecorded_until_.end() && held->second > t;
}

void Sender::flush_records() {
  if (records_.empty()) return;
  struct Handed {
    std::vector<Record> records;
    std::vector<std::int64_t> failed;  // recorded alone and refused (the batch still committed)
  };
  auto handed = std::make_shared<Handed>();
  handed->records = std::move(records_);
  records_.clear();
  {
    std::lock_guard lock(recording_mutex_);
    for (const auto& r : handed->records) recording_.insert(r.delivery_id);
  }
  const auto write = [this, handed, with = settings_](store::Database& db) {
    auto& deliveries = writer_side(db, with).deliveries;
    for (const auto& r : handed->records) {
      try {
        store::Savepoint sp(db);
        if (r.attempt) deliveries.record_attempt(r.delivery_id, *r.attempt);
        if (r.disable_fingerprint)
          deliveries.disable_receiver(r.receiver, *r.disable_fingerprint, r.reason, r.at);
        deliveries.update(r.delivery_id, r.state, r.attempts, r.next_attempt_at, r.last_status,
                          r.reason, r.at);
        sp.release();
      } catch (const std::exception& e) {
        handed->failed.push_back(r.delivery_id);
        log()->error("event=delivery_record_failed delivery_id={} error=\"{}\"", r.delivery_id,
                     text::printable(e.what(), 200));
      }
    }
  };
  const auto done = [this, handed](std::optional<std::string> failure) {
    if (failure) {
      log()->error("event=delivery_record_failed deliveries={} error=\"{}\"",
                   handed->records.size(), text::printable(*failure, 200));
      handed->failed.clear();
      for (const auto& r : handed->records) handed->failed.push_back(r.delivery_id);
    }
    {
      // Not recorded: those deliveries stay pending in the outbox and are sent again (at least
      // once), but not before kUnrecordedHoldS, or a store that keeps refusing would have the
      // sender send them again as fast as the receiver answers.
      const auto hold_until = now() + kUnrecordedHoldS;
      std::lock_guard lock(recording_mutex_);
      for (const auto& r : handed->records) {
        recording_.erase(r.delivery_id);
        settled_.insert(r.delivery_id);
      }
      for (const auto id : handed->failed) unrecorded_until_[id] = hold_until;
    }
    if (handed->failed.size() < handed->records.size()) wake();  // next attempts may be due
  };
  try {
    submit_(write, done);
  } catch (const std::exception& e) {
    done(std::string(e.what()));
  }
}

void Sender::run() {
  auto* multi = static_cast<CURLM*>(multi_);
  while (true) {
    if (!stopping_) {
      try {
        adopt_new_settings();
        start_due_transfers();
      } catch (const std::exception& e) {
        log()->error("event=outbox_read_failed error=\"{}\"", text::printable(e.what(), 200));
      }
    }
    flush_records();
    if (stopping_ && in_flight_.empty()) return;
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    bool finished_any = false;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* tr = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &tr);
      const int code = msg->data.result;
      curl_multi_remove_handle(multi, msg->easy_handle);
      finish(*tr, code);
      --per_receiver_[tr->receiver->name];
      in_flight_.erase(tr->delivery_id);
      finished_any = true;
    }
    // Every request that finished in this round is recorded in one write (one commit).
    flush_records();
    // A finished request frees a slot: start the next due one at once instead of after the poll.
    if (!finished_any) curl_multi_poll(multi, nullptr, 0, kPollMs, nullptr);
  }
}

}  // namespace markerwatch::notify
