#include "store/backoff.hpp"

#include <catch2/catch.hpp>

using namespace markerwatch;
using std::chrono::milliseconds;

TEST_CASE("a back-off doubles its wait after each failure, within its bounds") {
  store::Backoff waits(milliseconds(0), milliseconds(100), milliseconds(500));
  CHECK(waits.wait() == milliseconds(0));
  CHECK(waits.failed() == milliseconds(100));  // at least the first wait
  CHECK(waits.failed() == milliseconds(200));
  CHECK(waits.failed() == milliseconds(400));
  CHECK(waits.failed() == milliseconds(500));  // at most the longest
  CHECK(waits.failed() == milliseconds(500));
  CHECK(waits.wait() == milliseconds(500));
  waits.succeeded();
  CHECK(waits.wait() == milliseconds(0));
  CHECK(waits.failed() == milliseconds(100));
}

TEST_CASE("a back-off whose longest wait is shorter than its first waits the first") {
  store::Backoff waits(milliseconds(100), milliseconds(200), milliseconds(50));
  CHECK(waits.wait() == milliseconds(100));
  CHECK(waits.failed() == milliseconds(200));
  CHECK(waits.failed() == milliseconds(200));
}
