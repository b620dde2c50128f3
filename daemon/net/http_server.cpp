#include "net/http_server.hpp"

#include <spdlog/spdlog.h>

#include <optional>

namespace markerwatch::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
std::shared_ptr<spdlog::logger> log() {
  static auto logger = spdlog::default_logger()->clone("http");
  return logger;
}
}  // namespace

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(HttpServer& server, tcp::socket socket, bool over_limit)
      : server_(server), stream_(std::move(socket)), over_limit_(over_limit) {
    peer_ = peer_of(stream_.socket());
  }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->over_limit_) {
        log()->warn("event=connection_refused reason=max_connections limit={} peer={}",
                    self->server_.options_.max_connections, self->peer_);
        self->refuse(503, "too many connections; retry later");
        return;
      }
      self->read();
    });
  }

  // Idle: close now. Busy: answer the request in progress, then close.
  void shutdown() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->stopping_ = true;
      if (!self->busy_) self->close();
    });
  }

 private:
  void read() {
    if (stopping_ || closed_) return close();
    parser_.emplace();
    parser_->header_limit(server_.options_.max_header_bytes);
    parser_->body_limit(server_.options_.max_body_bytes);
    stream_.expires_after(server_.options_.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted || closed_)
      return close();
    if (ec == beast::error::timeout) {
      // Beast has closed the socket: nothing can be answered (as nginx, which closes too).
      if (parser_->got_some())
        log()->info("event=request_timeout peer={} timeout_s={}", peer_,
                    server_.options_.read_timeout.count());
      return close();
    }
    if (ec == http::error::body_limit)
      return refuse(413, "the body is larger than " +
                             std::to_string(server_.options_.max_body_bytes) + " bytes");
    if (ec == http::error::header_limit)
      return refuse(431, "the header is larger than " +
                             std::to_string(server_.options_.max_header_bytes) + " bytes");
    if (ec) {
      if (!parser_->got_some()) return close();  // the connection went away
      return refuse(400, "malformed HTTP request: " + ec.message());
    }
    busy_ = true;
    stream_.expires_never();  // the handler's time is not the client's
    auto request = parser_->release();
    const bool keep_alive = request.keep_alive();
    const auto version = request.version();
    server_.handler_.on_request(
        std::move(request), peer_,
        [self = shared_from_this(), keep_alive, version](HttpResponse response) {
          asio::dispatch(self->stream_.get_executor(),
                         [self, keep_alive, version, response = std::move(response)]() mutable {
                           response.version(version);
                           response.keep_alive(keep_alive && !self->stopping_);
                           self->write(std::move(response));
                         });
        });
  }

  void refuse(unsigned status, const std::string& detail) {
    busy_ = true;
    std::string_view target;
    if (parser_ && parser_->got_some())  // the request line is read before the fields
      target = std::string_view(parser_->get().target().data(), parser_->get().target().size());
    auto response = server_.handler_.error_response(status, detail, target);
    response.keep_alive(false);
    write(std::move(response));
  }

  void write(HttpResponse response) {
    response.prepare_payload();
    out_ = std::make_shared<HttpResponse>(std::move(response));
    stream_.expires_after(server_.options_.read_timeout);
    http::async_write(stream_, *out_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->busy_ = false;
                        const bool again = !ec && self->out_->keep_alive() && !self->stopping_;
                        self->out_.reset();
                        if (again)
                          self->read();
                        else
                          self->close();
                      });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    server_.forget(shared_from_this());
  }

  HttpServer& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpResponse> out_;
  std::string peer_;
  bool over_limit_ = false, busy_ = false, closed_ = false, stopping_ = false;
};

HttpServer::HttpServer(asio::io_context& io, HttpServerOptions options, HttpHandler& handler)
    : io_(io), options_(std::move(options)), handler_(handler), acceptor_(io) {}

HttpServer::~HttpServer() = default;

void HttpServer::start() {
  bound_port_ = bind_and_listen(acceptor_, options_.host, options_.port);
  log()->info("event=listening address={} port={}", options_.host, bound_port_);
  accept_next();
}

void HttpServer::accept_next() {
  acceptor_.async_accept(
      asio::make_strand(io_), [this](boost::system::error_code ec, tcp::socket socket) {
        if (ec) {
          if (ec == asio::error::operation_aborted || stopping_) return;
          log()->warn("event=accept_failed error=\"{}\"", ec.message());
        } else {
          // Over the limit the connection still gets a 503 saying why, then closes.
          const bool over_limit = sessions_.count() >= options_.max_connections;
          auto session = std::make_shared<HttpSession>(*this, std::move(socket), over_limit);
          sessions_.add(session);
          session->start();
        }
        if (!stopping_) accept_next();
      });
}

void HttpServer::forget(const std::shared_ptr<HttpSession>& s) {
  sessions_.forget(s);
}

void HttpServer::stop() {
  stopping_ = true;
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  sessions_.shutdown_all();
}

}  // namespace markerwatch::net
