#include "net/http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

#include "logging/module_logger.hpp"

namespace markerwatch::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;

namespace {
std::shared_ptr<spdlog::logger> log() {
  static auto logger = logging::module_logger("http");
  return logger;
}
}  // namespace

// One connection, over plain TCP or TLS; everything but the handshake and the close is the same.
template <typename Stream>
class HttpSessionOf final : public HttpSession,
                            public std::enable_shared_from_this<HttpSessionOf<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  // `tls`: the context this connection keeps for its life (TLS streams only).
  HttpSessionOf(HttpServer& server, tcp::socket socket, bool over_limit,
                std::shared_ptr<TlsContext> tls = nullptr)
      : server_(server),
        tls_(std::move(tls)),
        stream_(make_stream(std::move(socket), tls_.get())),
        over_limit_(over_limit) {
    peer_ = peer_of(tcp_layer().socket());
  }

  void start() override {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->tcp_layer().expires_after(self->server_.options_.read_timeout);
        self->reading_ = true;  // as a read: a stop closes the socket under it
        self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
          self->reading_ = false;
          if (self->closed_) return;
          if (ec) {
            log()->info("event=tls_handshake_failed peer={} error=\"{}\"", self->peer_,
                        ec.message());
            return self->close();
          }
          self->begin();
        });
      } else {
        self->begin();
      }
    });
  }

  // Idle: close now. Busy: answer the request in progress, then close.
  void shutdown() override {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      self->stopping_ = true;
      if (!self->busy_) self->close();
    });
  }

 private:
  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }
  static Stream make_stream(tcp::socket socket, TlsContext* tls) {
    if constexpr (kTls)
      return Stream(std::move(socket), *tls);
    else
      return Stream(std::move(socket));
  }

  void begin() {
    if (over_limit_) {
      log()->warn("event=connection_refused reason=max_connections limit={} peer={}",
                  server_.options_.max_connections, peer_);
      refuse(503, "too many connections; retry later");
      return;
    }
    read();
  }

  void read() {
    if (stopping_ || closed_) return close();
    parser_.emplace();
    parser_->header_limit(server_.options_.max_header_bytes);
    parser_->body_limit(server_.options_.max_body_bytes);
    tcp_layer().expires_after(server_.options_.read_timeout);
    reading_ = true;
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->reading_ = false;
                       self->on_read(ec);
                     });
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
    tcp_layer().expires_never();  // the handler's time is not the client's
    auto request = parser_->release();
    const bool keep_alive = request.keep_alive();
    const auto version = request.version();
    head_ = request.method() == http::verb::head;
    server_.handler_.on_request(
        std::move(request), peer_,
        [self = this->shared_from_this(), keep_alive, version](HttpResponse response) {
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
    if (response.result() == http::status::service_unavailable &&
        response.find(http::field::retry_after) == response.end())
      response.set(http::field::retry_after, std::to_string(server_.options_.retry_after.count()));
    response.prepare_payload();
    if (head_) {
      // HEAD: the GET response's headers, Content-Length included, and no body.
      const auto length = response.body().size();
      response.body().clear();
      response.content_length(length);
      head_ = false;
    }
    out_ = std::make_shared<HttpResponse>(std::move(response));
    tcp_layer().expires_after(server_.options_.read_timeout);
    http::async_write(stream_, *out_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
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
    if constexpr (kTls) {
      // An idle connection has a read pending; closing the socket ends it (a second read for
      // close_notify may not run beside it).
      if (reading_) return close_socket();
      // close_notify first, briefly: a client that does not answer it is cut off.
      tcp_layer().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->close_socket(); });
    } else {
      close_socket();
    }
  }

  void close_socket() {
    // The slot is freed before the client can see the close, so a client that reconnects at once
    // is not refused for a connection it already saw end.
    server_.forget(this->shared_from_this());
    beast::error_code ignored;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_layer().close();
  }

  HttpServer& server_;
  std::shared_ptr<TlsContext> tls_;  // before stream_, which refers to it
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpResponse> out_;
  std::string peer_;
  bool over_limit_ = false, busy_ = false, closed_ = false, stopping_ = false, reading_ = false,
       head_ = false;
};

HttpServer::HttpServer(asio::io_context& io, HttpServerOptions options, HttpHandler& handler)
    : options_(std::move(options)), handler_(handler), accept_(io, log()), tls_(options_.tls) {}

std::shared_ptr<TlsContext> HttpServer::tls_context() const {
  std::lock_guard lock(tls_mutex_);
  return tls_;
}

void HttpServer::use_tls(std::shared_ptr<TlsContext> tls) {
  std::lock_guard lock(tls_mutex_);
  if (!tls_) throw std::logic_error("HttpServer::use_tls: this server speaks plain HTTP");
  tls_ = std::move(tls);
}

HttpServer::~HttpServer() = default;

void HttpServer::start() {
  bound_port_ = accept_.listen(options_.host, options_.port);
  log()->info("event=listening address={} port={} tls={}", options_.host, bound_port_,
              tls_context() ? "on" : "off");
  accept_.start([this](tcp::socket socket) {
    // Over the limit the connection still gets a 503 saying why, then closes.
    const bool over_limit = sessions_.count() >= options_.max_connections;
    if (auto tls = tls_context())
      sessions_.open(std::make_shared<HttpSessionOf<beast::ssl_stream<beast::tcp_stream>>>(
          *this, std::move(socket), over_limit, std::move(tls)));
    else
      sessions_.open(
          std::make_shared<HttpSessionOf<beast::tcp_stream>>(*this, std::move(socket), over_limit));
  });
}

void HttpServer::forget(const std::shared_ptr<HttpSession>& s) {
  sessions_.forget(s);
}

void HttpServer::stop() {
  accept_.stop();
  sessions_.shutdown_all();
}

}  // namespace markerwatch::net
