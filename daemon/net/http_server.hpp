#pragma once
// HTTP/1.1 listener on Boost.Beast, on the daemon's io_context: one object per connection on its
// own strand, one request at a time per connection (keep-alive, no pipelining), with limits on
// header and body size, a read timeout and a connection limit. Knows nothing of the API: routing,
// authentication and response bodies are the handler's business; the server answers by itself
// only what it refuses before a request exists (too large, malformed, too many connections),
// through the handler's error_response so every error has the API's shape.
#include <utility>  // Boost 1.74 Asio uses std::exchange without including it

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "net/listener.hpp"
#include "net/tls_context.hpp"

namespace markerwatch::net {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

class HttpHandler {
 public:
  using Respond = std::function<void(HttpResponse)>;
  virtual ~HttpHandler() = default;
  // `respond` may be called from any thread, once.
  virtual void on_request(HttpRequest request, const std::string& peer, Respond respond) = 0;
  // The response for a refusal the server makes itself (status 400, 413, 431 or 503). A request
  // not received within the read timeout is not answered: its connection is closed.
  // `target` is the request target when its header was read, else empty.
  virtual HttpResponse error_response(unsigned status, std::string_view detail,
                                      std::string_view target) = 0;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::uint64_t max_body_bytes = 10 * 1024 * 1024;
  std::uint32_t max_header_bytes = 16 * 1024;
  std::chrono::seconds read_timeout{30};
  int max_connections = 64;
  // Sent as Retry-After with every 503 that does not carry its own: a FHIR client or interface
  // engine told "unavailable" (too many connections, stopping, a write that failed) then waits
  // that long instead of retrying at once or giving up (RFC 9110 section 10.2.3).
  std::chrono::seconds retry_after{5};
  std::shared_ptr<TlsContext> tls;  // null: plain HTTP
};

// One open connection, as the server's session set sees it.
class HttpSession {
 public:
  virtual ~HttpSession() = default;
  virtual void start() = 0;
  virtual void shutdown() = 0;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, HttpServerOptions options, HttpHandler& handler);
  ~HttpServer();

  // Binds and starts accepting; throws std::system_error when the address cannot be bound.
  void start();
  // Stops accepting; idle connections close, requests in progress are answered, then close.
  void stop();
  std::uint16_t port() const { return bound_port_; }
  int active_connections() const { return sessions_.count(); }
  std::uint64_t accept_failures() const { return accept_.failures(); }
  // A renewed certificate (a configuration reload): connections accepted from now on use `tls`,
  // those open keep the one they began with. Only for a server that speaks TLS.
  void use_tls(std::shared_ptr<TlsContext> tls);
  // The TLS context new connections get; null for plain HTTP.
  std::shared_ptr<TlsContext> tls_context() const;

 private:
  template <typename Stream>
  friend class HttpSessionOf;
  void forget(const std::shared_ptr<HttpSession>& s);

  HttpServerOptions options_;
  HttpHandler& handler_;
  AcceptLoop accept_;

  mutable std::mutex tls_mutex_;
  std::shared_ptr<TlsContext> tls_;  // null: plain HTTP
  std::uint16_t bound_port_ = 0;
  SessionSet<HttpSession> sessions_;
};

}  // namespace markerwatch::net
