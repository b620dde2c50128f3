#include <catch2/catch.hpp>

#include "core/markers.hpp"

using namespace markerwatch;

TEST_CASE("markers are found by canonical name, alias and LOINC code") {
  const auto c = MarkerCatalog::builtin();
  REQUIRE(c.find("AFP"));
  CHECK(c.find("afp")->name == "AFP");
  CHECK(c.find("DCP")->name == "PIVKA-II");
  CHECK(c.find("ca125")->name == "CA-125");
  CHECK(c.find("CA 19-9")->name == "CA19-9");
  CHECK(c.find("AFP-L3%")->name == "AFP-L3");
  CHECK(c.find("1834-1")->name == "AFP");
  CHECK(c.find("2857-1")->name == "PSA");
  CHECK_FALSE(c.find("glucose"));
  CHECK_FALSE(c.find(""));
}

TEST_CASE("codes map by system: LOINC only under a LOINC system, local codes per system") {
  auto c = MarkerCatalog::builtin();
  CHECK(c.find_by_code("1834-1", "LN")->name == "AFP");
  CHECK(c.find_by_code("1834-1", "http://loinc.org")->name == "AFP");
  CHECK_FALSE(c.find_by_code("1834-1", "L"));
  c.find_mutable("PIVKA-II")->local_codes.push_back({"L", "DCP"});
  CHECK(c.find_by_code("DCP", "L")->name == "PIVKA-II");
  CHECK_FALSE(c.find_by_code("DCP", "99OTHER"));
}

TEST_CASE("units convert to the canonical unit; unknown units never pass 1:1") {
  const auto c = MarkerCatalog::builtin();
  const auto& afp = *c.find("AFP");
  CHECK(c.map_unit(afp, "ng/mL")->factor == 1.0);
  CHECK(c.map_unit(afp, "ng/ml")->factor == 1.0);
  CHECK(c.map_unit(afp, "NG/ML")->factor == 1.0);
  CHECK(c.map_unit(afp, "ug/L")->factor == 1.0);
  CHECK(c.map_unit(afp, "mcg/L")->factor == 1.0);
  CHECK(c.map_unit(afp, "[IU]/mL")->factor == Approx(1.21));
  CHECK(c.map_unit(afp, "IU/ml")->factor == Approx(1.21));
  CHECK(c.map_unit(afp, "kIU/L")->factor == Approx(1.21));
  CHECK_FALSE(c.map_unit(afp, "mIU/mL"));
  CHECK_FALSE(c.map_unit(afp, "mg/dL"));
  CHECK_FALSE(c.map_unit(afp, ""));
  CHECK_FALSE(c.map_unit(afp, "*"));
}

TEST_CASE("PIVKA-II in ng/mL is its own method group, never converted") {
  const auto c = MarkerCatalog::builtin();
  const auto& pivka = *c.find("PIVKA-II");
  const auto* m = c.map_unit(pivka, "ng/mL");
  REQUIRE(m);
  CHECK(m->method_suffix == "ng/mL");
  CHECK(m->stored_unit == "ng/mL");
  CHECK(c.map_unit(pivka, "mAU/mL")->method_suffix.empty());
}

TEST_CASE("a unit mapping asked for a definition from another catalogue finds nothing") {
  const auto a = MarkerCatalog::builtin();
  const auto b = MarkerCatalog::builtin();
  CHECK_FALSE(a.map_unit(*b.find("AFP"), "ng/mL"));
  CHECK(b.map_unit(*b.find("AFP"), "ng/mL"));
}
