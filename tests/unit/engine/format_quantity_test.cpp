#include <catch2/catch.hpp>

#include <charconv>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "engine/alert.hpp"

using markerwatch::engine::format_quantity;

namespace {

// What format_quantity promises: printf("%.4f")'s digits without trailing zeros, "0" for zero.
std::string reference(double v) {
  char buf[400];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 4);
  REQUIRE(ec == std::errc());
  std::string s(buf, end);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

}  // namespace

TEST_CASE("format_quantity writes up to four decimals without trailing zeros") {
  CHECK(format_quantity(29.37) == "29.37");
  CHECK(format_quantity(340) == "340");
  CHECK(format_quantity(0.2) == "0.2");
  CHECK(format_quantity(0) == "0");
  CHECK(format_quantity(-0.0) == "0");
  CHECK(format_quantity(-0.00004) == "0");
  CHECK(format_quantity(-12.5) == "-12.5");
  CHECK(format_quantity(1e20) == "100000000000000000000");
  CHECK(format_quantity(std::numeric_limits<double>::infinity()) == "?");
  CHECK(format_quantity(std::nan("")) == "?");
  // Exact binary halves of the fourth decimal round to even, as printf does.
  CHECK(format_quantity(0.03125) == "0.0312");
  CHECK(format_quantity(0.09375) == "0.0938");
}

TEST_CASE("format_quantity gives printf's digits for every kind of value") {
  std::mt19937_64 random(20261206);
  std::size_t differ = 0, checked = 0;
  auto check = [&](double v) {
    ++checked;
    if (format_quantity(v) != reference(v)) {
      if (++differ <= 5) UNSCOPED_INFO("differs at " << reference(v));
    }
  };
  // Lab values as sent: decimals of a few digits, both signs.
  std::uniform_int_distribution<long> cents(0, 100'000'000);
  for (int i = 0; i < 200'000; ++i) {
    const double v = static_cast<double>(cents(random)) / 100.0 * (i % 2 ? 1 : -1);
    check(v);
    check(v * 1.21);  // a unit conversion factor
    check(v / 1000.0);
  }
  // Exact binary fractions, among them every tie in the fourth decimal.
  for (long k = 0; k < 200'000; ++k) {
    check(static_cast<double>(k) / 32.0);
    check(static_cast<double>(k) / 1024.0);
    check(std::ldexp(static_cast<double>(k), -20));
  }
  // Any double of any magnitude, up to and past where 10^4 times it leaves 64 bits.
  std::uniform_real_distribution<double> mantissa(1.0, 2.0);
  std::uniform_int_distribution<int> exponent(-1080, 70);
  for (int i = 0; i < 300'000; ++i) check(std::ldexp(mantissa(random), exponent(random)));
  // Around the fourth decimal's rounding points.
  for (long k = 0; k < 100'000; ++k) {
    const double at = (static_cast<double>(k) + 0.5) / 10000.0;
    check(at);
    check(std::nextafter(at, 0.0));
    check(std::nextafter(at, 1e9));
  }
  check(std::numeric_limits<double>::denorm_min());
  check(std::numeric_limits<double>::max());
  check(1844674407370955.0);
  check(1844674407370955.2);
  check(1844674407370956.0);
  CHECK(checked > 1'000'000);
  CHECK(differ == 0);
}
