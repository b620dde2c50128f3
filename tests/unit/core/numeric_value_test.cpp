#include <catch2/catch.hpp>

#include "core/numeric_value.hpp"

using namespace markerwatch;

TEST_CASE("numeric values follow the lenient grammar of INTEROP 1.3") {
  struct Case {
    const char* text;
    bool ok;
    double value;
    Comparator cmp;
    const char* kept;
  };
  const Case cases[] = {
      {"182", true, 182, Comparator::none, "182"},
      {"2.30", true, 2.3, Comparator::none, "2.30"},
      {" < 1", true, 1, Comparator::less, "1"},
      {"<1.0", true, 1.0, Comparator::less, "1.0"},
      {">35000", true, 35000, Comparator::greater, "35000"},
      {">=8", true, 8, Comparator::greater_equal, "8"},
      {"<= 0.5", true, 0.5, Comparator::less_equal, "0.5"},
      {"=4", true, 4, Comparator::none, "4"},
      {"+3", true, 3, Comparator::none, "3"},
      {"-0.5", true, -0.5, Comparator::none, "-0.5"},
      {"", false, 0, Comparator::none, ""},
      {"NEG", false, 0, Comparator::none, ""},
      {"1+ Cloudy", false, 0, Comparator::none, ""},
      {"1e5", false, 0, Comparator::none, ""},
      {"1,000", false, 0, Comparator::none, ""},
      {".5", false, 0, Comparator::none, ""},
      {"5.", false, 0, Comparator::none, ""},
      {"<>5", false, 0, Comparator::none, ""},
      {"cancelled", false, 0, Comparator::none, ""},
      {"12345678901234567890123456789012345678901234567890", false, 0, Comparator::none, ""},
  };
  for (const auto& c : cases) {
    INFO("input: '" << c.text << "'");
    auto n = parse_numeric(c.text);
    REQUIRE(n.has_value() == c.ok);
    if (!c.ok) continue;
    CHECK(n->value == Approx(c.value));
    CHECK(n->comparator == c.cmp);
    CHECK(n->text == c.kept);
  }
}

TEST_CASE("quantities compare as decimals within 1e-9 relative") {
  CHECK(quantities_equal(17.1 * 1.5, 25.65));
  CHECK(quantities_equal(0.1 + 0.2, 0.3));
  CHECK_FALSE(quantities_equal(25.65, 25.66));
  CHECK(quantities_equal(0, 0));
}
