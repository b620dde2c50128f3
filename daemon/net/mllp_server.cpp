#include "net/mllp_server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ssl.hpp>
#include <cstdint>
#include <deque>
#include <type_traits>

#include "logging/module_logger.hpp"
#include "net/mllp_framer.hpp"

namespace markerwatch::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxQueuedFrames = 256;  // pipelined frames waiting on one connection

std::shared_ptr<spdlog::logger> log() {
  static auto logger = logging::module_logger("mllp");
  return logger;
}
}  // namespace

// One connection, over plain TCP (Stream = tcp::socket) or TLS; everything but the handshake and
// the close is the same.
template <typename Stream>
class MllpSessionOf final : public MllpSession,
                            public std::enable_shared_from_this<MllpSessionOf<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;
  using std::enable_shared_from_this<MllpSessionOf<Stream>>::shared_from_this;

 public:
  // `tls`: what this connection keeps for its life (TLS streams only).
  MllpSessionOf(MllpServer& server, tcp::socket socket,
                std::shared_ptr<const MllpTls> tls = nullptr)
      : server_(server),
        tls_(std::move(tls)),
        peer_(peer_of(socket)),
        stream_(make_stream(std::move(socket), tls_.get())),
        strand_(stream_.get_executor()),
        idle_timer_(strand_),
        framer_(server.options_.max_message_bytes),
        buffer_(kReadChunk) {}

  void start() override {
    asio::dispatch(strand_, [self = shared_from_this()] {
      log()->info("event=connection_open peer={} tls={}", self->peer_, kTls ? "on" : "off");
      const auto& options = self->server_.options_;
      self->last_activity_ = std::chrono::steady_clock::now();
      if constexpr (kTls) {
        self->handshaking_ = true;
        self->arm_idle_timer(self->last_activity_ +
                             std::min(options.idle_timeout, options.handshake_timeout));
        self->stream_.async_handshake(
            ssl::stream_base::server,
            asio::bind_executor(self->strand_,
                                [self](boost::system::error_code ec) { self->on_handshake(ec); }));
      } else {
        self->arm_idle_timer(self->last_activity_ + options.idle_timeout);
        self->read();
      }
    });
  }

  // Finish what was received, then close.
  void shutdown() override {
    asio::dispatch(strand_, [self = shared_from_this()] {
      if (self->stopping_ || self->closed_) return;
      self->stopping_ = true;
      log()->info("event=connection_finishing peer={} answered={} in_progress={} queued={}",
                  self->peer_, self->answered_, self->busy_ ? 1 : 0, self->queue_.size());
      self->maybe_close();
    });
  }

 private:
  static Stream make_stream(tcp::socket socket, const MllpTls* tls) {
    if constexpr (kTls)
      return Stream(std::move(socket), *tls->context);
    else
      return socket;
  }

  tcp::socket& tcp_socket() {
    if constexpr (kTls)
      return stream_.next_layer();
    else
      return stream_;
  }

  // The certificate chain was checked in the handshake (MllpTls::context); the allow-list is
  // checked here, before anything the client sent is read.
  void on_handshake(boost::system::error_code ec) {
    handshaking_ = false;
    if (closed_) return;
    if (ec) {
      std::string certificate_error;
      if constexpr (kTls) certificate_error = client_verify_error(stream_.native_handle());
      ++(certificate_error.empty() ? server_.handshakes_failed_ : server_.certificates_rejected_);
      // The certificate's problem (revoked, expired, unknown CA) says more than the TLS error.
      log()->info("event=tls_handshake_failed peer={} error=\"{}\"", peer_,
                  certificate_error.empty() ? ec.message() : certificate_error);
      return close();
    }
    if constexpr (kTls) {
      SSL* ssl = stream_.native_handle();
      const auto client = client_common_name(ssl);
      if (!client_certificate_allowed(ssl, tls_->allowed_clients)) {
        ++server_.clients_not_allowed_;
        log()->warn("event=tls_client_refused peer={} client_cn={} reason=not_in_allowed_clients",
                    peer_, client);
        return close();
      }
      log()->info("event=tls_established peer={} client_cn={} protocol={}", peer_, client,
                  SSL_get_version(ssl));
      // What each message is stored and logged with: the address and the certificate's name.
      if (!client.empty()) peer_ += "/" + client;
    }
    handshake_done_ = true;
    last_activity_ = std::chrono::steady_clock::now();
    read();
  }

  // Armed when the connection opens and again only when it fires: a read or a written reply just
  // records its time, as re-arming the timer on every message cost a system call and a cancelled
  // handler. Idleness counts from the last traffic either way, so a slow commit does not eat into
  // the time the sender is given to send its next message.
  void arm_idle_timer(std::chrono::steady_clock::time_point deadline) {
    idle_timer_.expires_at(deadline);
    idle_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->on_idle_timer();
    });
  }

  void on_idle_timer() {
    if (closed_) return;
    if (handshaking_) {
      ++server_.handshakes_timed_out_;
      log()->info("event=tls_handshake_timeout peer={}", peer_);
      return close();
    }
    const auto timeout = server_.options_.idle_timeout;
    const auto now = std::chrono::steady_clock::now();
    if (busy_ || !queue_.empty()) {
      arm_idle_timer(now + timeout);  // waiting on our own storage is not idleness
      return;
    }
    if (now - last_activity_ < timeout) {
      arm_idle_timer(last_activity_ + timeout);
      return;
    }
    log()->info("event=connection_idle_timeout peer={} idle_s={}", peer_, timeout.count());
    close();
  }

  void read() {
    if (reading_ || closed_ || stopping_ || peer_done_ || framer_.failed()) return;
    // A sender that pipelines faster than we store is paused (TCP pushes back), so memory stays
    // bounded by the work in flight: at most kMaxQueuedFrames frames or two maximal frames.
    if (queue_.size() >= kMaxQueuedFrames ||
        queued_bytes_ >= 2 * server_.options_.max_message_bytes)
      return;  // resumes when the queue drains
    reading_ = true;
    stream_.async_read_some(
        asio::buffer(buffer_),
        asio::bind_executor(
            strand_, [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
              self->reading_ = false;
              self->on_read(ec, n);
            }));
  }

  void on_read(boost::system::error_code ec, std::size_t n) {
    if (closed_) return;
    std::vector<FrameEvent> events;
    if (ec) {
      // A TLS peer that closes without close_notify ends as a plain one does: many MLLP senders
      // just close their socket.
      if (ec != asio::error::eof && ec != asio::error::operation_aborted &&
          ec != ssl::error::stream_truncated)
        log()->info("event=connection_error peer={} error=\"{}\"", peer_, ec.message());
      peer_done_ = true;
      framer_.finish(events);
      if (framer_.pending_bytes() > 0)
        log()->warn("event=truncated_frame peer={} bytes={}", peer_, framer_.pending_bytes());
    } else {
      last_activity_ = std::chrono::steady_clock::now();
      framer_.feed(std::string_view(buffer_.data(), n), events);
    }
    for (auto& e : events) {
      switch (e.kind) {
        case FrameEvent::Kind::frame:
          queued_bytes_ += e.payload.size();
          queue_.push_back(std::move(e.payload));
          break;
        case FrameEvent::Kind::garbage:
          log()->warn("event=garbage_skipped peer={} bytes={}", peer_, e.bytes);
          break;
        case FrameEvent::Kind::garbage_limit:
          // Closed once what came before is answered (maybe_close).
          log()->warn("event=garbage_limit peer={} bytes={} limit_bytes={} action=close", peer_,
                      e.bytes, server_.options_.max_message_bytes);
          break;
        case FrameEvent::Kind::restarted:
          log()->warn("event=frame_restarted peer={} dropped_bytes={}", peer_, e.bytes);
          break;
        case FrameEvent::Kind::oversized:
          oversized_head_ = std::move(e.payload);
          break;
      }
    }
    process_next();
    read();
  }

  void process_next() {
    if (busy_ || closed_) return;
    auto self = shared_from_this();
    auto respond = [self, work = asio::make_work_guard(server_.io_)](FrameHandler::Reply reply) {
      asio::post(self->strand_,
                 [self, reply = std::move(reply)]() mutable { self->on_reply(std::move(reply)); });
    };
    if (!queue_.empty()) {
      busy_ = true;
      auto frame = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= frame.size();
      server_.handler_.on_frame(std::move(frame), peer_, std::move(respond));
    } else if (oversized_head_) {
      busy_ = true;
      close_after_reply_ = true;
      log()->warn("event=frame_too_large peer={} limit_bytes={}", peer_,
                  server_.options_.max_message_bytes);
      server_.handler_.on_oversized(std::move(*oversized_head_), server_.options_.max_message_bytes,
                                    peer_, std::move(respond));
      oversized_head_.reset();
    } else {
      maybe_close();
    }
  }

  void on_reply(FrameHandler::Reply reply) {
    if (closed_) return;
    if (reply.close) close_after_reply_ = true;
    if (!reply.message) {
      busy_ = false;
      after_reply();
      return;
    }
    out_ = MllpFramer::frame(*reply.message);
    asio::async_write(
        stream_, asio::buffer(out_),
        asio::bind_executor(
            strand_, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
              self->busy_ = false;
              self->last_activity_ = std::chrono::steady_clock::now();
              if (ec) {
                log()->info("event=write_failed peer={} error=\"{}\"", self->peer_, ec.message());
                self->close();
                return;
              }
              ++self->answered_;
              self->after_reply();
            }));
  }

  void after_reply() {
    if (close_after_reply_) {
      close();
      return;
    }
    process_next();
    read();
  }

  // Closes once nothing received is left unanswered and either side is done (or the framer gave
  // up on the stream: an oversized frame, a run of garbage past the limit).
  void maybe_close() {
    if (busy_ || !queue_.empty() || oversized_head_) return;
    if (stopping_ || peer_done_ || framer_.failed()) close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    // The slot is freed before the sender can see the close, so a sender that reconnects at once
    // (after an idle timeout, say) is not refused for a connection it already saw end.
    server_.forget(shared_from_this());
    idle_timer_.cancel();
    log()->info("event=connection_closed peer={} answered={}", peer_, answered_);
    if constexpr (kTls) {
      // close_notify first, briefly: a client that does not answer it is cut off. Not with a read
      // or the handshake in progress: closing the socket ends those, and no second operation may
      // run beside them.
      if (handshake_done_ && !reading_) {
        idle_timer_.expires_after(std::chrono::seconds(2));
        idle_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
          if (!ec) self->close_socket();
        });
        stream_.async_shutdown(
            asio::bind_executor(strand_, [self = shared_from_this()](boost::system::error_code) {
              self->idle_timer_.cancel();
              self->close_socket();
            }));
        return;
      }
    }
    close_socket();
  }

  void close_socket() {
    boost::system::error_code ignored;
    tcp_socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_socket().close(ignored);
  }

  MllpServer& server_;
  std::shared_ptr<const MllpTls> tls_;  // before stream_, which refers to its context
  std::string peer_;
  Stream stream_;
  asio::strand<asio::any_io_executor> strand_;
  asio::steady_timer idle_timer_;
  std::chrono::steady_clock::time_point last_activity_;
  MllpFramer framer_;
  std::vector<char> buffer_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  std::uint64_t answered_ = 0;  // replies written
  std::optional<std::string> oversized_head_;
  std::string out_;
  bool reading_ = false, busy_ = false, closed_ = false, stopping_ = false, peer_done_ = false,
       close_after_reply_ = false, handshaking_ = false, handshake_done_ = !kTls;
};

MllpServer::MllpServer(asio::io_context& io, MllpServerOptions options, FrameHandler& handler)
    : io_(io),
      options_(std::move(options)),
      handler_(handler),
      accept_(io, log()),
      tls_(options_.tls) {}

MllpServer::~MllpServer() = default;

void MllpServer::start() {
  bound_port_ = accept_.listen(options_.host, options_.port);
  const auto tls = this->tls();
  log()->info("event=listening address={} port={} tls={} allowed_clients={}", options_.host,
              bound_port_, tls ? "on" : "off", tls ? tls->allowed_clients.size() : 0);
  accept_.start([this](tcp::socket socket) {
    if (sessions_.count() >= options_.max_connections) {
      log()->warn("event=connection_refused reason=max_connections limit={} peer={}",
                  options_.max_connections, peer_of(socket));
      boost::system::error_code ignored;
      socket.close(ignored);
      return;
    }
    if (auto tls = this->tls())
      sessions_.open(std::make_shared<MllpSessionOf<ssl::stream<tcp::socket>>>(
          *this, std::move(socket), std::move(tls)));
    else
      sessions_.open(std::make_shared<MllpSessionOf<tcp::socket>>(*this, std::move(socket)));
  });
}

std::shared_ptr<const MllpTls> MllpServer::tls() const {
  std::lock_guard lock(tls_mutex_);
  return tls_;
}

MllpServer::TlsRefusals MllpServer::tls_refusals() const {
  return {handshakes_failed_.load(), certificates_rejected_.load(), clients_not_allowed_.load(),
          handshakes_timed_out_.load()};
}

void MllpServer::use_tls(std::shared_ptr<const MllpTls> tls) {
  std::lock_guard lock(tls_mutex_);
  if (!tls_) throw std::logic_error("MllpServer::use_tls: this server speaks plain MLLP");
  tls_ = std::move(tls);
}

std::shared_ptr<TlsContext> MllpServer::tls_context() const {
  const auto current = tls();
  return current ? current->context : nullptr;
}

void MllpServer::forget(const std::shared_ptr<MllpSession>& s) {
  sessions_.forget(s);
}

void MllpServer::stop() {
  accept_.stop();
  sessions_.shutdown_all();
}

}  // namespace markerwatch::net
