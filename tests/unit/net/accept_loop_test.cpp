// The accept loop when accepting fails: out of file descriptors, the connection waits in the
// backlog and every accept fails again until one is free.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>  // Boost 1.74 Asio uses std::exchange without including it

#include <spdlog/spdlog.h>
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "net/listener.hpp"

using namespace markerwatch;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Not in the sanitizer build: UBSan's vptr check reads memory through a pipe, which it cannot
// open with no descriptor left, and then reports every type it has not seen yet as invalid.
#if !defined(__SANITIZE_ADDRESS__)
namespace {

// Lowers this process's descriptor limit and takes every descriptor left under it, until
// released (or destroyed): the state of a daemon with too many open files.
class DescriptorsUsedUp {
 public:
  DescriptorsUsedUp() {
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
    rlimit lowered = saved_;
    lowered.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, 256);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
    int error = 0;
    for (;;) {
      const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        error = errno;
        break;
      }
      taken_.push_back(fd);
    }
    if (error != EMFILE) release();  // the destructor does not run when the constructor throws
    REQUIRE(error == EMFILE);
  }
  ~DescriptorsUsedUp() { release(); }
  void release() {
    for (const int fd : taken_) ::close(fd);
    taken_.clear();
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }

 private:
  rlimit saved_{};
  std::vector<int> taken_;
};

}  // namespace

TEST_CASE("accept loop: out of file descriptors it pauses between tries, then accepts") {
  asio::io_context io;
  net::AcceptLoop loop(io, spdlog::default_logger()->clone("accept-test"),
                       std::chrono::milliseconds(200));
  const auto port = loop.listen("127.0.0.1", 0);
  std::atomic<int> accepted{0};
  loop.start([&](tcp::socket) { ++accepted; });
  auto work = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  // The loop's thread is running before the descriptors are taken: a thread that starts while
  // they are taken may open and close one of its own, and leave a free one behind (CI once saw
  // the connection accepted with every descriptor taken).
  std::promise<void> running;
  asio::post(io, [&] { running.set_value(); });
  running.get_future().wait();

  // The client's socket is made first; connecting needs no other descriptor (the kernel completes
  // the handshake into the listener's backlog).
  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(client >= 0);
  {
    DescriptorsUsedUp used_up;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const auto failures = loop.failures();
    // One try per 200 ms pause; a loop that tried again at once failed ~100,000 times a second.
    CHECK(failures >= 1);
    CHECK(failures <= 8);
    CHECK(accepted == 0);
  }
  // Descriptors free again: the waiting connection is taken after the pause.
  for (int i = 0; i < 500 && accepted == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(accepted == 1);

  loop.stop();
  work.reset();
  runner.join();  // the pending accept and pause end with the stop, so run() returns
  ::close(client);
}
#endif

TEST_CASE("accept loop: a network error of one connection is no reason to pause") {
  using boost::system::error_code;
  using boost::system::system_category;
  // The listener cannot accept for a while: the next try would fail the same way.
  for (const int persisting : {EMFILE, ENFILE, ENOBUFS, ENOMEM, EBADF, EINVAL}) {
    INFO(persisting);
    CHECK(net::accept_error_persists(error_code(persisting, system_category())));
  }
  // One connection failed before it was accepted; the next one in the backlog is unaffected.
  for (const int passing : {ECONNABORTED, EPROTO, ENETDOWN, ENETUNREACH, EHOSTUNREACH, EHOSTDOWN,
                            ENONET, ENOPROTOOPT, EOPNOTSUPP, EPERM}) {
    INFO(passing);
    CHECK_FALSE(net::accept_error_persists(error_code(passing, system_category())));
  }
  // An error that is not the system's own is not known to pass.
  CHECK(net::accept_error_persists(asio::error::make_error_code(asio::error::eof)));
}
