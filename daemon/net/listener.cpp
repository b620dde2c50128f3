#include "net/listener.hpp"

#include <cerrno>

namespace markerwatch::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string peer_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  return ec ? std::string("unknown") : ep.address().to_string() + ":" + std::to_string(ep.port());
}

AcceptLoop::AcceptLoop(asio::io_context& io, std::shared_ptr<spdlog::logger> log,
                       std::chrono::milliseconds pause_after_failure)
    : io_(io),
      log_(std::move(log)),
      pause_after_failure_(pause_after_failure),
      acceptor_(asio::make_strand(io)),
      pause_(acceptor_.get_executor()) {}

std::uint16_t AcceptLoop::listen(const std::string& host, std::uint16_t port) {
  tcp::resolver resolver(acceptor_.get_executor());
  auto endpoints = resolver.resolve(host, std::to_string(port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service);
  const tcp::endpoint ep = endpoints.begin()->endpoint();
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  return acceptor_.local_endpoint().port();
}

void AcceptLoop::start(OnAccept on_accept) {
  on_accept_ = std::move(on_accept);
  asio::post(acceptor_.get_executor(), [this] { accept_next(); });
}

void AcceptLoop::accept_next() {
  acceptor_.async_accept(asio::make_strand(io_),
                         [this](boost::system::error_code ec, tcp::socket socket) {
                           accepted(ec, std::move(socket));
                         });
}

bool accept_error_persists(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return true;
  switch (ec.value()) {
    // Asio itself tries again after ECONNABORTED and EPROTO; the rest are the network errors
    // accept(2) may pass on from the new connection ("treat them like EAGAIN by retrying").
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case EPERM:  // a firewall rule refused this connection
      return false;
    default:
      return true;
  }
}

void AcceptLoop::accepted(boost::system::error_code ec, tcp::socket socket) {
  if (stopping_ || ec == asio::error::operation_aborted) return;
  if (!ec) {
    on_accept_(std::move(socket));
    return accept_next();
  }
  ++failures_;
  if (!accept_error_persists(ec)) {
    log_->warn("event=accept_failed error=\"{}\" retry_in_ms=0", ec.message());
    return accept_next();
  }
  log_->warn("event=accept_failed error=\"{}\" retry_in_ms={}", ec.message(),
             pause_after_failure_.count());
  pause_.expires_after(pause_after_failure_);
  pause_.async_wait([this](boost::system::error_code waited) {
    if (!waited && !stopping_) accept_next();
  });
}

void AcceptLoop::stop() {
  stopping_ = true;
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    pause_.cancel();
  });
}

}  // namespace markerwatch::net
