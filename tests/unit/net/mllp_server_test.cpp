#include <sys/socket.h>
#include <sys/time.h>

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it

#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/mllp_framer.hpp"
#include "net/mllp_server.hpp"

using namespace markerwatch;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Answers each frame at once: "BIG<c>" with 16 MiB of the character c (more than a socket's send
// buffer grows to, 4 MiB at most by default), anything else with "ok:" and the frame.
struct EchoHandler : net::FrameHandler {
  static constexpr std::size_t kBig = 16 * 1024 * 1024;
  void on_frame(std::string frame, const std::string&, Respond respond) override {
    {
      std::lock_guard lock(mutex);
      frames.push_back(frame);
    }
    if (frame.rfind("BIG", 0) == 0 && frame.size() == 4)
      respond({std::string(kBig, frame[3]), false});
    else
      respond({"ok:" + frame, false});
  }
  void on_oversized(std::string, std::size_t, const std::string&, Respond respond) override {
    respond({std::string("too large"), true});
  }
  std::vector<std::string> received() {
    std::lock_guard lock(mutex);
    return frames;
  }
  std::mutex mutex;
  std::vector<std::string> frames;
};

// A blocking client whose reads give up after 10 s, so a server that never answers fails the
// test instead of hanging it.
struct Client {
  Client(asio::io_context& io, std::uint16_t port, int receive_buffer) : socket(io) {
    socket.open(tcp::v4());
    if (receive_buffer > 0)
      socket.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
    timeval timeout{10, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
  }
  void send(const std::string& payload) {
    asio::write(socket, asio::buffer(net::MllpFramer::frame(payload)));
  }
  // The next reply's payload ("" when the connection ended or timed out first).
  std::string reply() {
    for (;;) {
      // Only what came since the last look: a 16 MiB reply arrives in many reads.
      if (const auto end = pending.find("\x1c\r", scanned); end != std::string::npos) {
        auto frame = pending.substr(1, end - 1);
        pending.erase(0, end + 2);
        scanned = 0;
        return frame;
      }
      scanned = pending.empty() ? 0 : pending.size() - 1;
      // recv itself: Asio's synchronous read waits again after the timeout's EAGAIN.
      char chunk[65536];
      const auto n = ::recv(socket.native_handle(), chunk, sizeof chunk, 0);
      if (n <= 0) return {};
      pending.append(chunk, static_cast<std::size_t>(n));
    }
  }
  tcp::socket socket;
  std::string pending;
  std::size_t scanned = 0;  // pending holds no frame end before this
};

// The server on an event loop of one thread, from construction to destruction (which stops it
// and waits for its connections to finish).
struct RunningServer {
  RunningServer() : server(io, options(), handler) {
    server.start();
    loop = std::thread([this] { io.run(); });
  }
  ~RunningServer() {
    server.stop();
    work.reset();
    loop.join();
  }
  static net::MllpServerOptions options() {
    net::MllpServerOptions o;
    o.port = 0;
    return o;
  }
  asio::io_context io;
  EchoHandler handler;
  net::MllpServer server;
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  std::thread loop;
};

}  // namespace

TEST_CASE("mllp server: replies larger than the socket takes wait for the sender, in order") {
  RunningServer running;
  asio::io_context client_io;
  {
    // A small receive window and no reads yet: most of the first reply cannot leave the
    // server's socket until the client reads.
    Client slow(client_io, running.server.port(), 4096);
    slow.send("BIGa");
    slow.send("BIGb");
    slow.send("after");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (running.handler.received().empty() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(running.handler.received() == std::vector<std::string>{"BIGa"});

    // The event loop's one thread is not held up by the connection that does not read: the
    // server never waits on a peer.
    Client other(client_io, running.server.port(), 0);
    other.send("hello");
    CHECK(other.reply() == "ok:hello");

    const auto first = slow.reply();
    const auto second = slow.reply();
    CHECK(first.size() == EchoHandler::kBig);
    CHECK(first == std::string(EchoHandler::kBig, 'a'));
    CHECK(second == std::string(EchoHandler::kBig, 'b'));
    CHECK(slow.reply() == "ok:after");
  }
  // The second big frame is handed over only once the first reply is out, after "hello".
  CHECK(running.handler.received() == std::vector<std::string>{"BIGa", "hello", "BIGb", "after"});
}

TEST_CASE("mllp server: small replies are answered in order, one per frame") {
  RunningServer running;
  asio::io_context client_io;
  Client client(client_io, running.server.port(), 0);
  std::string all;
  for (int i = 0; i < 200; ++i) all += net::MllpFramer::frame("m" + std::to_string(i));
  asio::write(client.socket, asio::buffer(all));  // pipelined, in one write
  for (int i = 0; i < 200; ++i) REQUIRE(client.reply() == "ok:m" + std::to_string(i));
}
