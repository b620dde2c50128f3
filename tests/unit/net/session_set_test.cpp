#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "net/listener.hpp"

using namespace markerwatch;

namespace {
// Records the calls a listener makes on a session, in order.
struct RecordingSession {
  explicit RecordingSession(std::vector<std::string>& calls) : calls(calls) {}
  void start() { calls.push_back("start"); }
  void shutdown() { calls.push_back("shutdown"); }
  std::vector<std::string>& calls;
};
}  // namespace

TEST_CASE("session set: a session opened after the stop is shut down at once") {
  net::SessionSet<RecordingSession> sessions;
  std::vector<std::string> before, after;
  auto early = std::make_shared<RecordingSession>(before);
  sessions.open(early);
  CHECK(before == std::vector<std::string>{"start"});
  CHECK(sessions.count() == 1);

  sessions.shutdown_all();
  CHECK(before == std::vector<std::string>{"start", "shutdown"});

  // An accept that completed while the listener stopped: started, then asked to finish, so it
  // cannot keep the daemon running.
  auto late = std::make_shared<RecordingSession>(after);
  sessions.open(late);
  CHECK(after == std::vector<std::string>{"start", "shutdown"});
  CHECK(sessions.count() == 2);

  sessions.forget(early);
  sessions.forget(late);
  sessions.forget(late);  // twice: counted once
  CHECK(sessions.count() == 0);
}
