#pragma once
// [fhir.upstream]: the search markerwatch runs on an upstream FHIR server when that server's
// rest-hook Subscription notifies it with an empty "ping" (INTEROP.md §3.5: tolerate empty pings
// by re-querying). A run reads the search page by page from where the last complete run ended
// (_lastUpdated=ge the latest meta.lastUpdated stored), and stores each page through the writer
// as a POST of it would be; the last page's transaction also records the new start. One run at a
// time, on a thread of its own: pings during a run make one more run after it. With poll_every,
// runs also come at the start and that long after the last one ended.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "ingest/store_writer.hpp"
#include "settings/settings.hpp"

namespace markerwatch::app {

class UpstreamFetcher {
 public:
  // The writer answers on `io`, so a run holds it running (a work guard) until it ends.
  UpstreamFetcher(settings::FhirUpstreamSettings settings, ingest::StoreWriter& writer,
                  const Clock& clock, boost::asio::io_context& io);
  ~UpstreamFetcher();
  UpstreamFetcher(const UpstreamFetcher&) = delete;
  UpstreamFetcher& operator=(const UpstreamFetcher&) = delete;

  // The daemon runs: with poll_every, the first run starts now, the next ones on schedule.
  void start();
  // A notification arrived (from any thread): a run starts, or follows the one in progress.
  void notify();
  // Ends a run in progress at its next step (a transfer is abandoned; pages stored stay), without
  // waiting: for the signal handler, on the event loop.
  void request_stop();
  // request_stop, then waits for the thread.
  void stop();

  struct Stats {
    std::uint64_t completed = 0, failed = 0, pages = 0;
  };
  Stats stats() const;

 private:
  void loop();
  // One run; throws on a failure (logged by loop). `trigger`: notification, schedule or start.
  void run(const char* trigger);
  // GET url; the body of a 200, else throws with what the server said.
  std::string get(const std::string& url);
  // Stores one page in the writer's next group commit, and the new start of the search with it
  // when `cursor` is given; throws when it was not stored.
  void store_page(std::string body, const std::optional<std::string>& cursor);

  const settings::FhirUpstreamSettings settings_;
  const std::string key_;  // the search's URL without the start: names its cursor
  ingest::StoreWriter& writer_;
  const Clock& clock_;
  boost::asio::io_context& io_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool pending_ = false;
  bool polling_ = false;   // runs come on schedule too (after start)
  bool starting_ = false;  // the next run is the first one of a polling search
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> completed_{0}, failed_{0}, pages_{0};
  std::thread thread_;
};

}  // namespace markerwatch::app
