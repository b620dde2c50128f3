#include "net/mllp_server.hpp"

#include <spdlog/spdlog.h>

#include <cstdint>
#include <deque>

#include "logging/module_logger.hpp"
#include "net/mllp_framer.hpp"

namespace markerwatch::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxQueuedFrames = 256;  // pipelined frames waiting on one connection

std::shared_ptr<spdlog::logger> log() {
  static auto logger = logging::module_logger("mllp");
  return logger;
}
}  // namespace

class MllpSession : public std::enable_shared_from_this<MllpSession> {
 public:
  MllpSession(MllpServer& server, tcp::socket socket)
      : server_(server),
        socket_(std::move(socket)),
        strand_(socket_.get_executor()),
        idle_timer_(strand_),
        framer_(server.options_.max_message_bytes),
        buffer_(kReadChunk) {
    peer_ = peer_of(socket_);
  }

  void start() {
    asio::dispatch(strand_, [self = shared_from_this()] {
      log()->info("event=connection_open peer={}", self->peer_);
      self->last_activity_ = std::chrono::steady_clock::now();
      self->arm_idle_timer(self->last_activity_ + self->server_.options_.idle_timeout);
      self->read();
    });
  }

  // Finish what was received, then close.
  void shutdown() {
    asio::dispatch(strand_, [self = shared_from_this()] {
      if (self->stopping_ || self->closed_) return;
      self->stopping_ = true;
      log()->info("event=connection_finishing peer={} answered={} in_progress={} queued={}",
                  self->peer_, self->answered_, self->busy_ ? 1 : 0, self->queue_.size());
      self->maybe_close();
    });
  }

 private:
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
    socket_.async_read_some(
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
      if (ec != asio::error::eof && ec != asio::error::operation_aborted)
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
        socket_, asio::buffer(out_),
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
    boost::system::error_code ignored;
    idle_timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    log()->info("event=connection_closed peer={} answered={}", peer_, answered_);
  }

  MllpServer& server_;
  tcp::socket socket_;
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
  std::string peer_;
  bool reading_ = false, busy_ = false, closed_ = false, stopping_ = false, peer_done_ = false,
       close_after_reply_ = false;
};

MllpServer::MllpServer(asio::io_context& io, MllpServerOptions options, FrameHandler& handler)
    : io_(io), options_(std::move(options)), handler_(handler), accept_(io, log()) {}

MllpServer::~MllpServer() = default;

void MllpServer::start() {
  bound_port_ = accept_.listen(options_.host, options_.port);
  log()->info("event=listening address={} port={}", options_.host, bound_port_);
  accept_.start([this](tcp::socket socket) {
    if (sessions_.count() >= options_.max_connections) {
      log()->warn("event=connection_refused reason=max_connections limit={} peer={}",
                  options_.max_connections, peer_of(socket));
      boost::system::error_code ignored;
      socket.close(ignored);
      return;
    }
    sessions_.open(std::make_shared<MllpSession>(*this, std::move(socket)));
  });
}

void MllpServer::forget(const std::shared_ptr<MllpSession>& s) {
  sessions_.forget(s);
}

void MllpServer::stop() {
  accept_.stop();
  sessions_.shutdown_all();
}

}  // namespace markerwatch::net
