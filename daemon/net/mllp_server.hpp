#pragma once
// MLLP listener on Boost.Asio: one object per connection, each on its own strand; frames are
// handed to a FrameHandler one at a time per connection (in order) and the reply written back.
// Knows nothing of HL7: building ACKs and storing messages is the handler's business.
#include <atomic>
#include <utility>  // Boost 1.74 Asio uses std::exchange without including it

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "net/listener.hpp"

namespace markerwatch::net {

class FrameHandler {
 public:
  // Called with the reply to write (nullopt: write nothing and keep reading; an empty reply
  // with close = true: close without answering).
  struct Reply {
    std::optional<std::string> message;
    bool close = false;
  };
  using Respond = std::function<void(Reply)>;

  virtual ~FrameHandler() = default;
  virtual void on_frame(std::string frame, const std::string& peer, Respond respond) = 0;
  // A frame over the size limit: `head` holds its first bytes. The connection closes after the
  // reply.
  virtual void on_oversized(std::string head, std::size_t limit, const std::string& peer,
                            Respond respond) = 0;
};

struct MllpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 2575;
  std::size_t max_message_bytes = 1024 * 1024;
  std::chrono::seconds idle_timeout{300};
  int max_connections = 64;
};

class MllpSession;

class MllpServer {
 public:
  MllpServer(boost::asio::io_context& io, MllpServerOptions options, FrameHandler& handler);
  ~MllpServer();

  // Binds and starts accepting; throws std::system_error when the address cannot be bound.
  void start();
  // Stops accepting; open connections finish and answer what they have received, then close.
  void stop();
  std::uint16_t port() const { return bound_port_; }
  int active_connections() const { return sessions_.count(); }
  std::uint64_t accept_failures() const { return accept_.failures(); }

 private:
  friend class MllpSession;
  void forget(const std::shared_ptr<MllpSession>& s);

  boost::asio::io_context& io_;
  MllpServerOptions options_;
  FrameHandler& handler_;
  AcceptLoop accept_;
  std::uint16_t bound_port_ = 0;
  SessionSet<MllpSession> sessions_;
};

}  // namespace markerwatch::net
