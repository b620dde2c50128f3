#pragma once
// What the MLLP and HTTP listeners share: the accept loop, naming a peer, and the set of open
// sessions that stop() asks to finish.
#include <utility>  // Boost 1.74 Asio uses std::exchange without including it

#include <spdlog/logger.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace markerwatch::net {

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

// Whether a failed accept leaves the listener unable to accept for a while, so that trying again
// at once would fail again at once: false only for the errors of one connection that Linux
// reports through accept(2) (man accept: a network error already pending on the new
// connection), which leave the next connection in the backlog unaffected.
bool accept_error_persists(const boost::system::error_code& ec);

// The accept loop of a listener, on a strand of its own; each accepted socket gets a strand too.
// A failed accept (EMFILE or ENFILE: the process or the system is out of file descriptors;
// ENOBUFS, ENOMEM) leaves the connection waiting in the backlog, so accepting again at once fails
// again at once: the loop would take a core and write a log line per try. It pauses instead, and
// logs once per pause. An error of one connection only (accept_error_persists) is logged and the
// next connection accepted at once.
class AcceptLoop {
 public:
  using OnAccept = std::function<void(boost::asio::ip::tcp::socket)>;
  static constexpr std::chrono::milliseconds kPauseAfterFailure{500};

  AcceptLoop(boost::asio::io_context& io, std::shared_ptr<spdlog::logger> log,
             std::chrono::milliseconds pause_after_failure = kPauseAfterFailure);
  // Resolves host:port (numeric), binds with SO_REUSEADDR and listens; returns the bound port (the
  // one chosen when `port` is 0). Throws std::system_error when the address cannot be bound.
  std::uint16_t listen(const std::string& host, std::uint16_t port);
  void start(OnAccept on_accept);
  // Closes the acceptor and ends a pause, on the loop's strand: no accept completes after that.
  void stop();
  // Failed accepts so far.
  std::uint64_t failures() const { return failures_.load(); }

 private:
  void accept_next();
  void accepted(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  std::shared_ptr<spdlog::logger> log_;
  std::chrono::milliseconds pause_after_failure_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer pause_;  // on the acceptor's strand
  OnAccept on_accept_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace markerwatch::net
