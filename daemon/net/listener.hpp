#pragma once
// What the MLLP and HTTP listeners share: binding the acceptor, naming a peer, and the set of
// open sessions that stop() asks to finish.
#include <utility>  // Boost 1.74 Asio uses std::exchange without including it

#include <atomic>
#include <boost/asio.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace markerwatch::net {

// Resolves host:port (numeric), binds with SO_REUSEADDR and listens; returns the bound port (the
// one chosen when `port` is 0). Throws std::system_error when the address cannot be bound.
std::uint16_t bind_and_listen(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host,
                              std::uint16_t port);

// "address:port" of the socket's peer, or "unknown".
std::string peer_of(const boost::asio::ip::tcp::socket& socket);

// Open sessions, shared by the accept loop (open), the sessions themselves (forget, on close) and
// stop() (every session asked to shut down).
template <typename Session>
class SessionSet {
 public:
  // Starts an accepted session. An accept can complete while stop() runs; a session opened after
  // shutdown_all() is asked to finish at once, so no connection keeps the daemon from exiting.
  void open(const std::shared_ptr<Session>& s) {
    bool stopping;
    {
      std::lock_guard lock(mutex_);
      if (sessions_.insert(s).second) ++count_;
      stopping = stopping_;
    }
    s->start();
    if (stopping) s->shutdown();
  }
  void forget(const std::shared_ptr<Session>& s) {
    std::lock_guard lock(mutex_);
    if (sessions_.erase(s)) --count_;
  }
  int count() const { return count_.load(); }
  void shutdown_all() {
    std::set<std::shared_ptr<Session>> open;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      open = sessions_;
    }
    for (auto& s : open) s->shutdown();
  }

 private:
  std::mutex mutex_;
  std::set<std::shared_ptr<Session>> sessions_;
  std::atomic<int> count_{0};
  bool stopping_ = false;  // guarded by mutex_
};

// stop() of a listener: the acceptor closes on its own executor (no new connections), and every
// open session is asked to finish.
template <typename Session>
void stop_listening(boost::asio::ip::tcp::acceptor& acceptor, SessionSet<Session>& sessions) {
  boost::asio::post(acceptor.get_executor(), [&acceptor] {
    boost::system::error_code ignored;
    acceptor.close(ignored);
  });
  sessions.shutdown_all();
}

}  // namespace markerwatch::net
