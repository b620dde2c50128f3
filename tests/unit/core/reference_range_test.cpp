#include <catch2/catch.hpp>

#include "core/reference_range.hpp"

using namespace markerwatch;

TEST_CASE("upper limit of normal is read from the spellings labs send") {
  CHECK(upper_limit_of("0-10") == Approx(10));
  CHECK(upper_limit_of("3.5-5.1") == Approx(5.1));
  CHECK(upper_limit_of("<10") == Approx(10));
  CHECK(upper_limit_of("<=8.5") == Approx(8.5));
  CHECK(upper_limit_of("40") == Approx(40));
  CHECK(upper_limit_of("(<1.0)") == Approx(1.0));
  CHECK(upper_limit_of("70_105") == Approx(105));
  CHECK(upper_limit_of("4.3 to 6.2") == Approx(6.2));
  CHECK(upper_limit_of(" 0 - 35 ") == Approx(35));
}

TEST_CASE("ranges that cannot be read with certainty give no upper limit") {
  CHECK_FALSE(upper_limit_of(""));
  CHECK_FALSE(upper_limit_of(">10"));
  CHECK_FALSE(upper_limit_of("NEGATIVE"));
  CHECK_FALSE(upper_limit_of("<9 mcg/dL:  Acceptable background lead exposure"));
  CHECK_FALSE(upper_limit_of("10-5"));
  CHECK_FALSE(upper_limit_of("^^10.000000"));
  CHECK_FALSE(upper_limit_of("(1.6-12.0)Follikul \\ (8.0-22.0)Peak"));
}
