#include <catch2/catch.hpp>

#include "core/duration.hpp"

using namespace markerwatch;

TEST_CASE("Durations are a decimal number and one unit of s m h or d") {
  CHECK(parse_duration_seconds("90s") == 90);
  CHECK(parse_duration_seconds("30m") == 1800);
  CHECK(parse_duration_seconds("12h") == 43200);
  CHECK(parse_duration_seconds("7d") == 604800);
  CHECK(parse_duration_seconds("1.5h") == 5400);
  CHECK(parse_duration_seconds("0.5s") == 0);  // a fraction of a second is dropped
  CHECK(parse_duration_seconds("0d") == 0);    // callers refuse what is too short for them
}

TEST_CASE("Anything else is not a duration") {
  for (const char* bad : {"", "s", "7", "7w", "7D", "-1h", "+1h", " 1h", "1 h", "1h ", "1.h", ".5h",
                          "1e3s", "infs", "nans", "1,5h", "0x10s", "1.2.3m", "7dd"})
    CHECK_FALSE(parse_duration_seconds(bad).has_value());
  // Beyond a century: no span is meant, and the result must not overflow.
  CHECK_FALSE(parse_duration_seconds("36601d").has_value());
  CHECK_FALSE(parse_duration_seconds("99999999999999999999999d").has_value());
  CHECK(parse_duration_seconds("36600d") == std::int64_t{36600} * 86400);
}
