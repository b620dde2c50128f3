#include "ingest/hand_off.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace markerwatch;

namespace {

// Waits (bounded) until `done` holds; returns whether it did. The helper thread makes progress
// without this thread's help, so no fixed sleep decides a result.
template <typename Done>
bool eventually(Done done) {
  for (int i = 0; i < 2000 && !done(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return done();
}

}  // namespace

TEST_CASE("hand-off: items arrive in order, then the end") {
  ingest::HandOff<int> queue(100);
  std::jthread helper([&](std::stop_token stop) {
    for (int i = 0; i < 1000; ++i) queue.push(i, 1, stop);
    queue.finish();
  });
  std::vector<int> got;
  while (auto item = queue.take()) got.push_back(*item);
  REQUIRE(got.size() == 1000);
  for (int i = 0; i < 1000; ++i) CHECK(got[static_cast<std::size_t>(i)] == i);
  CHECK_FALSE(queue.take());  // the end stays the end
}

TEST_CASE("hand-off: the helper waits while the queue holds its weight") {
  ingest::HandOff<std::string> queue(10);
  std::atomic<int> pushed{0};
  std::jthread helper([&](std::stop_token stop) {
    for (int i = 0; i < 4; ++i) {
      queue.push(std::to_string(i), 4, stop);
      ++pushed;
    }
    queue.finish();
  });
  // 4 + 4 + 4 = 12 >= 10: the third goes in (8 < 10 before it), the fourth waits.
  REQUIRE(eventually([&] { return pushed.load() == 3; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(pushed.load() == 3);
  CHECK(queue.take() == "0");  // 8 left: room again
  REQUIRE(eventually([&] { return pushed.load() == 4; }));
  CHECK(queue.take() == "1");
  CHECK(queue.take() == "2");
  CHECK(queue.take() == "3");
  CHECK_FALSE(queue.take());
}

TEST_CASE("hand-off: an item heavier than the bound goes through alone") {
  ingest::HandOff<int> queue(10);
  std::jthread helper([&](std::stop_token stop) {
    queue.push(1, 50, stop);
    queue.push(2, 50, stop);
    queue.finish();
  });
  CHECK(queue.take() == 1);
  CHECK(queue.take() == 2);
  CHECK_FALSE(queue.take());
}

TEST_CASE("hand-off: the helper's failure reaches the taker after the items before it") {
  ingest::HandOff<int> queue(10);
  std::jthread helper([&](std::stop_token stop) {
    queue.push(7, 1, stop);
    try {
      throw std::runtime_error("disk went away");
    } catch (...) {
      queue.finish(std::current_exception());
    }
  });
  CHECK(queue.take() == 7);
  CHECK_THROWS_WITH(queue.take(), "disk went away");
}

TEST_CASE("hand-off: a helper waiting for room stops when asked, and its item is dropped") {
  ingest::HandOff<int> queue(1);
  std::promise<void> returned;
  std::atomic<bool> waiting{false};
  {
    std::jthread helper([&](std::stop_token stop) {
      queue.push(1, 1, stop);
      waiting = true;
      queue.push(2, 1, stop);  // full: waits until taken or stopped
      returned.set_value();
    });
    REQUIRE(eventually([&] { return waiting.load(); }));
    helper.request_stop();
    CHECK(returned.get_future().wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  }  // joined
  queue.finish();
  CHECK(queue.take() == 1);
  CHECK_FALSE(queue.take());  // 2 was not queued
}
