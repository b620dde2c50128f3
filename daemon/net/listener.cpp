#include "net/listener.hpp"

namespace markerwatch::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::uint16_t bind_and_listen(tcp::acceptor& acceptor, const std::string& host,
                              std::uint16_t port) {
  tcp::resolver resolver(acceptor.get_executor());
  auto endpoints = resolver.resolve(host, std::to_string(port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service);
  const tcp::endpoint ep = endpoints.begin()->endpoint();
  acceptor.open(ep.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor.local_endpoint().port();
}

std::string peer_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  return ec ? std::string("unknown") : ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace markerwatch::net
