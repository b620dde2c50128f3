#pragma once
// MLLP listener on Boost.Asio, over plain TCP or TLS: one object per connection, each on its own
// strand; frames are handed to a FrameHandler one at a time per connection (in order) and the
// reply written back. Knows nothing of HL7: building ACKs and storing messages is the handler's
// business.
#include <atomic>
#include <utility>  // Boost 1.74 Asio uses std::exchange without including it

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "net/listener.hpp"
#include "net/tls_context.hpp"

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

// MLLP over TLS (INTEROP.md section 2, item 6: the same framing inside TLS): the server context
// and the names a client certificate must carry.
struct MllpTls {
  std::shared_ptr<TlsContext> context;
  std::vector<std::string> allowed_clients;  // empty: any certificate the context accepts
};

struct MllpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 2575;
  std::size_t max_message_bytes = 1024 * 1024;
  std::chrono::seconds idle_timeout{300};
  int max_connections = 64;
  std::shared_ptr<const MllpTls> tls;  // null: plain MLLP
  // A TLS handshake not done by then (or by the idle timeout, if shorter) closes the connection,
  // so peers that never finish one do not hold connection slots for an idle timeout's length.
  std::chrono::seconds handshake_timeout{30};
};

// One open connection, as the server's session set sees it.
class MllpSession {
 public:
  virtual ~MllpSession() = default;
  virtual void start() = 0;
  virtual void shutdown() = 0;
};

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
  // TLS connections closed before anything they sent was read, by reason.
  struct TlsRefusals {
    std::uint64_t handshake_failed = 0;  // no certificate, not TLS at all, no common cipher, ...
    // A certificate that failed verification: an unknown CA, expired, revoked, its CA's CRL
    // missing or lapsed.
    std::uint64_t certificate_rejected = 0;
    std::uint64_t not_allowed = 0;        // a certificate that names none of allowed_clients
    std::uint64_t handshake_timeout = 0;  // no handshake within the time limit
  };
  TlsRefusals tls_refusals() const;
  // A renewed certificate, CA list or allow-list (a configuration reload): connections accepted
  // from now on use `tls`, those open keep what they began with. Only for a server that speaks
  // TLS.
  void use_tls(std::shared_ptr<const MllpTls> tls);
  // The TLS context new connections get; null for plain MLLP.
  std::shared_ptr<TlsContext> tls_context() const;

 private:
  template <typename Stream>
  friend class MllpSessionOf;
  void forget(const std::shared_ptr<MllpSession>& s);
  std::shared_ptr<const MllpTls> tls() const;

  boost::asio::io_context& io_;
  MllpServerOptions options_;
  FrameHandler& handler_;
  AcceptLoop accept_;
  mutable std::mutex tls_mutex_;
  std::shared_ptr<const MllpTls> tls_;  // null: plain MLLP
  std::atomic<std::uint64_t> handshakes_failed_{0}, certificates_rejected_{0},
      clients_not_allowed_{0}, handshakes_timed_out_{0};
  std::uint16_t bound_port_ = 0;
  SessionSet<MllpSession> sessions_;
};

}  // namespace markerwatch::net
