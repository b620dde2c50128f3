#pragma once
// Tells the operator, in the log, of a listener's certificate or client CRL that has lapsed or soon
// will: at the start, after each reload, and every six hours, so a daemon that runs for months
// warns before its senders are refused. /metrics carries the same dates for alerting rules.
#include "core/clock.hpp"
#include "net/tls_context.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace markerwatch::app {

// The contexts the listeners hand to new connections; null for a listener without TLS.
struct ListenerTls {
  std::shared_ptr<net::TlsContext> mllp;
  std::shared_ptr<net::TlsContext> http;

  // The listeners that have TLS, by name ("mllp", "http").
  std::vector<std::pair<std::string, std::shared_ptr<net::TlsContext>>> by_name() const;
};

// What the expiry check says of `contexts` at `now` (Unix seconds), listener by listener.
std::vector<net::TlsNotice> tls_notices(const ListenerTls& contexts, std::int64_t now);

class TlsExpiryWatch {
 public:
  TlsExpiryWatch(boost::asio::any_io_executor executor, const Clock& clock,
                 std::function<ListenerTls()> contexts,
                 std::chrono::seconds interval = std::chrono::hours(6));
  // Checks now, then every interval until stop().
  void start();
  // Checks now (from any thread: a reload has renewed the files).
  void check_soon();
  void stop();

 private:
  void check();
  void schedule();

  boost::asio::steady_timer timer_;
  const Clock& clock_;
  std::function<ListenerTls()> contexts_;
  std::chrono::seconds interval_;
  bool stopped_ = false;
};

}  // namespace markerwatch::app
