#include "app/upstream_fetcher.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>

#include "core/errors.hpp"
#include "core/text.hpp"
#include "core/timestamp.hpp"
#include "fhir/search_paging.hpp"
#include "ingest/pipeline.hpp"
#include "notify/outgoing_request.hpp"
#include "store/search_cursor.hpp"

namespace markerwatch::app {
namespace {

constexpr std::size_t kMaxPageBytes = 64 * 1024 * 1024;
constexpr const char* kSender = "fhir-upstream";

struct Transfer {
  std::string body;
  bool too_large = false;
  const std::atomic<bool>* stopping = nullptr;
};

size_t keep_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const auto n = size * count;
  if (t->body.size() + n > kMaxPageBytes) {
    t->too_large = true;
    return 0;  // ends the transfer
  }
  t->body.append(data, n);
  return n;
}

int abort_when_stopping(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->stopping->load() ? 1 : 0;
}

class RunFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace

UpstreamFetcher::UpstreamFetcher(settings::FhirUpstreamSettings settings,
                                 ingest::StoreWriter& writer, const Clock& clock,
                                 boost::asio::io_context& io)
    : settings_(std::move(settings)),
      key_(fhir::search_url(settings_.base_url, settings_.search, "")),
      writer_(writer),
      clock_(clock),
      io_(io) {
  notify::ensure_curl();
  thread_ = std::thread([this] { loop(); });
}

UpstreamFetcher::~UpstreamFetcher() {
  stop();
}

void UpstreamFetcher::notify() {
  {
    std::lock_guard lock(mutex_);
    pending_ = true;
  }
  wake_.notify_one();
}

void UpstreamFetcher::start() {
  if (settings_.poll_every_s == 0) return;
  {
    std::lock_guard lock(mutex_);
    polling_ = starting_ = pending_ = true;
  }
  wake_.notify_one();
}

void UpstreamFetcher::request_stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
}

void UpstreamFetcher::stop() {
  request_stop();
  if (thread_.joinable()) thread_.join();
}

UpstreamFetcher::Stats UpstreamFetcher::stats() const {
  return {completed_.load(), failed_.load(), pages_.load()};
}

void UpstreamFetcher::loop() {
  const auto poll_every = std::chrono::seconds(settings_.poll_every_s);
  for (;;) {
    // Taken while the decision to run is made under the lock that request_stop takes: a stop
    // that comes later finds the loop held, so the writer's answers to this run still arrive.
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> hold;
    const char* trigger = "notification";
    {
      std::unique_lock lock(mutex_);
      const auto woken = [this] { return pending_ || stopping_; };
      if (!polling_)
        wake_.wait(lock, woken);
      else if (!wake_.wait_for(lock, poll_every, woken))
        trigger = "schedule";
      if (stopping_) return;
      if (std::exchange(starting_, false)) trigger = "start";
      pending_ = false;
      hold.emplace(io_.get_executor());
    }
    try {
      run(trigger);
      ++completed_;
    } catch (const std::exception& e) {
      if (stopping_) {  // the daemon stops: what was stored stays, the next start goes on
        spdlog::info("event=fhir_upstream_run_stopped server={}",
                     settings::url_origin(settings_.base_url));
        return;
      }
      ++failed_;
      spdlog::error("event=fhir_upstream_run_failed server={} error=\"{}\"",
                    settings::url_origin(settings_.base_url), text::printable(e.what(), 300));
    }
  }
}

void UpstreamFetcher::run(const char* trigger) {
  // Where the last complete run ended, read in the writer's order (after anything it stored).
  auto since = std::make_shared<std::optional<std::string>>();
  std::promise<ingest::WriteOutcome> read;
  writer_.submit_task(
      [since, key = key_](ingest::Pipeline& pipeline) {
        *since = store::search_cursor(pipeline.database(), key);
        return ingest::TaskReport{};
      },
      kSender, [&read](ingest::WriteOutcome o) { read.set_value(std::move(o)); });
  if (const auto o = read.get_future().get(); !o.committed)
    throw RunFailed("the database does not answer: " + o.error);

  spdlog::info("event=fhir_upstream_run_started server={} trigger={} since={}",
               settings::url_origin(settings_.base_url), trigger, since->value_or("start"));
  std::string latest = since->value_or("");
  std::string url = fhir::search_url(settings_.base_url, settings_.search, latest);
  for (int page_number = 1;; ++page_number) {
    if (stopping_) throw RunFailed("stopped");
    auto body = get(url);
    fhir::SearchPage page;
    try {
      page = fhir::read_search_page(fhir::parse_body(body));
    } catch (const InputError& e) {
      throw RunFailed("page " + std::to_string(page_number) + ": " + e.what());
    }
    if (page.latest_update && fhir::later_instant(*page.latest_update, latest))
      latest = *page.latest_update;
    const bool more = page.next.has_value();
    const bool truncated = more && page_number >= settings_.max_pages;
    // The new start is recorded with the last page, and only when every page was read.
    std::optional<std::string> cursor;
    if (!more && !latest.empty() && latest != since->value_or("")) cursor = latest;
    store_page(std::move(body), cursor);
    ++pages_;
    if (!more) {
      spdlog::info("event=fhir_upstream_run_completed server={} pages={} latest={}",
                   settings::url_origin(settings_.base_url), page_number,
                   latest.empty() ? "none" : latest);
      return;
    }
    if (truncated)
      throw RunFailed("the search has more than fhir.upstream.max_pages = " +
                      std::to_string(settings_.max_pages) +
                      " pages; those read are stored, the next run starts where this one did");
    // Only to the server the search was sent to: the headers may carry its credentials.
    if (!page.next->starts_with(settings_.base_url + "/") &&
        !page.next->starts_with(settings_.base_url + "?"))
      throw RunFailed("page " + std::to_string(page_number) + "'s next link " +
                      text::printable(*page.next, 200) + " is not on " + settings_.base_url);
    url = *page.next;
  }
}

std::string UpstreamFetcher::get(const std::string& url) {
  Transfer transfer;
  transfer.stopping = &stopping_;
  CURL* easy = curl_easy_init();
  if (!easy) throw RunFailed("cannot create a request");
  curl_slist* headers = curl_slist_append(nullptr, "accept: application/fhir+json");
  for (const auto& [k, v] : settings_.headers)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  notify::set_outgoing_options(easy, settings_.timeout_s, settings_.tls_verify, settings_.ca_file);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");  // whatever curl can decode
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, abort_when_stopping);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &transfer);
  const auto code = curl_easy_perform(easy);
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(easy);
  curl_slist_free_all(headers);
  const auto where = settings::url_origin(url);
  if (transfer.too_large)
    throw RunFailed(where + " sent a page larger than " + std::to_string(kMaxPageBytes >> 20) +
                    " MiB");
  if (code != CURLE_OK) throw RunFailed(where + ": " + curl_easy_strerror(code));
  if (status != 200)
    throw RunFailed(where + " answered HTTP " + std::to_string(status) + ": " +
                    text::printable(transfer.body, 200));
  return std::move(transfer.body);
}

void UpstreamFetcher::store_page(std::string body, const std::optional<std::string>& cursor) {
  auto prepared =
      std::make_shared<ingest::PreparedFhir>(writer_.pipeline()->prepare_fhir(std::move(body), ""));
  const auto peer = settings::url_origin(settings_.base_url);
  std::promise<ingest::WriteOutcome> done;
  writer_.submit_task(
      [prepared, cursor, peer, key = key_,
       now = format_utc(unix_seconds(clock_))](ingest::Pipeline& pipeline) {
        const auto stored = pipeline.store_fhir(*prepared, kSender, peer);
        if (cursor) store::set_search_cursor(pipeline.database(), key, *cursor, now);
        return ingest::TaskReport{stored.alert_events, "fhir", stored.outcome, stored.stored,
                                  kSender};
      },
      peer, [&done](ingest::WriteOutcome o) { done.set_value(std::move(o)); });
  const auto outcome = done.get_future().get();
  if (!outcome.committed) throw RunFailed("a page was not stored: " + outcome.error);
  if (outcome.refused) throw RunFailed("a page was refused: " + *outcome.refused);
}

}  // namespace markerwatch::app
