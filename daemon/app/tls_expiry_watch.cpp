#include "app/tls_expiry_watch.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

namespace markerwatch::app {

TlsExpiryWatch::TlsExpiryWatch(boost::asio::any_io_executor executor, const Clock& clock,
                               std::function<ListenerTls()> contexts, std::chrono::seconds interval)
    : timer_(std::move(executor)),
      clock_(clock),
      contexts_(std::move(contexts)),
      interval_(interval) {}

void TlsExpiryWatch::start() {
  boost::asio::post(timer_.get_executor(), [this] {
    check();
    schedule();
  });
}

void TlsExpiryWatch::check_soon() {
  boost::asio::post(timer_.get_executor(), [this] {
    if (!stopped_) check();
  });
}

void TlsExpiryWatch::stop() {
  boost::asio::post(timer_.get_executor(), [this] {
    stopped_ = true;
    timer_.cancel();
  });
}

std::vector<std::pair<std::string, std::shared_ptr<net::TlsContext>>> ListenerTls::by_name() const {
  std::vector<std::pair<std::string, std::shared_ptr<net::TlsContext>>> named;
  if (mllp) named.emplace_back("mllp", mllp);
  if (http) named.emplace_back("http", http);
  return named;
}

std::vector<net::TlsNotice> tls_notices(const ListenerTls& contexts, std::int64_t now) {
  std::vector<net::TlsNotice> notices;
  for (const auto& [listener, tls] : contexts.by_name())
    for (auto& notice : net::tls_notices(listener, net::tls_validity(*tls), now))
      notices.push_back(std::move(notice));
  return notices;
}

void TlsExpiryWatch::check() {
  for (const auto& notice : tls_notices(contexts_(), unix_seconds(clock_))) {
    if (notice.lapsed)
      spdlog::error("{}", notice.line);
    else
      spdlog::warn("{}", notice.line);
  }
}

void TlsExpiryWatch::schedule() {
  if (stopped_) return;
  timer_.expires_after(interval_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    check();
    schedule();
  });
}

}  // namespace markerwatch::app
