#include <catch2/catch.hpp>

#include "hl7/hl7_builders.hpp"
#include "hl7/oru_mapper.hpp"
#include "test_support.hpp"

using namespace markerwatch;
using hl7::Disposition;

namespace {

struct Mapper {
  settings::Settings s = test::settings_from(
      "[ingest]\ndefault_timezone = \"UTC\"\n[markers.PIVKA-II]\nlocal_codes = [\"L|DCP\"]\n");
  hl7::MappingOptions options() const {
    hl7::MappingOptions o;
    o.markers = &s.markers;
    o.default_zone = s.zone.get();
    return o;
  }
  hl7::MappingResult map(const std::string& text) const {
    auto msg = hl7::Message::parse(text);
    return hl7::map_oru(msg, options());
  }
};

}  // namespace

TEST_CASE("an AFP result maps to a canonical record") {
  Mapper m;
  auto r = m.map(test::oru({test::afp_obx("45985")}));
  REQUIRE(r.disposition == Disposition::accepted);
  REQUIRE(r.results.size() == 1);
  const auto& x = r.results[0];
  CHECK(x.patient.id == "case-001");
  CHECK(x.patient.authority == "HOSP");
  CHECK(x.marker == "AFP");
  CHECK(*x.value == 45985);
  CHECK(x.unit == "ng/mL");
  CHECK(x.collected_date == "2016-12-15");
  CHECK(x.collected_at == "2016-12-15T08:30:00Z");
  CHECK(x.collected_offset_assumed);
  CHECK(*x.uln == 10);
  CHECK(x.status == ResultStatus::final_result);
  CHECK(x.obs_id == "LAB|HOSP|FILL1|LN:1834-1|");
  CHECK(r.header.control_id == "CTRL1");
}

TEST_CASE("values: NM, SN with comparators, numeric ST text, censored NM") {
  Mapper m;
  struct Case {
    std::string type, value;
    double expected;
    Comparator cmp;
  };
  const std::vector<Case> cases = {
      {"NM", "6.8", 6.8, Comparator::none},
      {"SN", ">^35000", 35000, Comparator::greater},
      {"SN", "<^1.0", 1.0, Comparator::less},
      {"SN", "<=^8", 8, Comparator::less_equal},
      {"SN", ">=^400", 400, Comparator::greater_equal},
      {"SN", "^182", 182, Comparator::none},
      {"SN", "=^3", 3, Comparator::none},
      {"ST", "<1.0", 1.0, Comparator::less},
      {"ST", ">35000", 35000, Comparator::greater},
      {"ST", " 29.37 ", 29.37, Comparator::none},
      {"NM", ">35000", 35000, Comparator::greater},
  };
  for (const auto& c : cases) {
    INFO(c.type << " " << c.value);
    auto r = m.map(test::oru({test::afp_obx(c.value, "ng/mL", "F", c.type)}));
    REQUIRE(r.results.size() == 1);
    CHECK(*r.results[0].value == Approx(c.expected));
    CHECK(r.results[0].comparator == c.cmp);
  }
}

TEST_CASE("values that are not one number are errors for that observation") {
  Mapper m;
  for (auto [type, value, reason] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"ST", "pending", "is not a number"},
           {"NM", "abc", "is not a number"},
           {"SN", "^100^-^200", "range or ratio"},
           {"SN", "^1^:^128", "range or ratio"},
           {"SN", "<>^5", "comparator"},
           {"TX", "high", "not numeric"},
           {"CE", "POS^Positive", "not numeric"},
           {"NM", "", "is not a number"}}) {
    INFO(type << " " << value);
    auto r = m.map(test::oru({test::afp_obx(value, "ng/mL", "F", type)}));
    CHECK(r.disposition == Disposition::rejected_error);
    REQUIRE(r.issues.size() == 1);
    CHECK_THAT(r.issues[0].text, Catch::Contains(reason));
    CHECK(r.issues[0].segment == "OBX");
    CHECK(r.results.empty());
  }
}

TEST_CASE("units convert; unknown units are errors, never 1:1") {
  Mapper m;
  auto iu = m.map(test::oru({test::afp_obx("100", "[IU]/mL^international units per mL^UCUM")}));
  REQUIRE(iu.results.size() == 1);
  CHECK(*iu.results[0].value == Approx(121));
  CHECK(*iu.results[0].uln == Approx(12.1));  // the range converts with the value
  CHECK(iu.results[0].unit_raw == "[IU]/mL");
  auto bad = m.map(test::oru({test::afp_obx("100", "mg/dL")}));
  CHECK(bad.disposition == Disposition::rejected_error);
  CHECK_THAT(bad.issues.at(0).text,
             Catch::Contains("unit 'mg/dL' cannot be converted to ng/mL for AFP"));
  auto none = m.map(test::oru({test::afp_obx("100", "")}));
  CHECK_THAT(none.issues.at(0).text, Catch::Contains("no unit"));
}

TEST_CASE("statuses: corrections, removals, preliminary, pending") {
  Mapper m;
  CHECK(m.map(test::oru({test::afp_obx("5", "ng/mL", "C")})).results.at(0).status ==
        ResultStatus::corrected);
  auto prelim = m.map(test::oru({test::afp_obx("5", "ng/mL", "P")}));
  CHECK(prelim.results.at(0).status == ResultStatus::preliminary);
  auto deleted = m.map(test::oru({test::afp_obx("", "", "D")}));
  REQUIRE(deleted.results.size() == 1);
  CHECK(deleted.results[0].status == ResultStatus::deleted);
  CHECK_FALSE(deleted.results[0].value);
  auto wrong = m.map(test::oru({test::afp_obx("5", "ng/mL", "W")}));
  CHECK(wrong.results.at(0).status == ResultStatus::deleted);
  CHECK_FALSE(wrong.results.at(0).value);
  auto cancelled = m.map(test::oru({test::afp_obx("", "", "X")}));
  CHECK(cancelled.results.at(0).status == ResultStatus::cancelled);
  auto pending = m.map(test::oru({test::afp_obx("", "", "I")}));
  CHECK(pending.disposition == Disposition::ignored);
  CHECK(pending.ignored_observations == 1);
  auto unknown = m.map(test::oru({test::afp_obx("5", "ng/mL", "Q")}));
  CHECK_THAT(unknown.issues.at(0).text, Catch::Contains("OBX-11"));
}

TEST_CASE("collection time: OBX-14, else OBR-7; offsets kept; bad dates are errors") {
  Mapper m;
  auto own = m.map(test::oru({test::afp_obx("5", "ng/mL", "F", "NM", "20161214230000-0500")}));
  CHECK(own.results.at(0).collected_at == "2016-12-15T04:00:00Z");
  CHECK(own.results.at(0).collected_date == "2016-12-14");
  auto from_obr = m.map(test::oru({test::afp_obx("5", "ng/mL", "F", "NM", "")}));
  CHECK(from_obr.results.at(0).collected_at == "2016-12-15T08:30:00Z");
  auto bad = m.map(test::oru({test::afp_obx("5", "ng/mL", "F", "NM", "2016121530")}));
  // An invalid OBX-14 falls back to OBR-7.
  CHECK(bad.results.at(0).collected_date == "2016-12-15");
  std::string no_obr_time = test::oru({test::afp_obx("5", "ng/mL", "F", "NM", "")});
  no_obr_time.replace(no_obr_time.find("20161215083000"), 14, "");
  auto missing = m.map(no_obr_time);
  CHECK_THAT(missing.issues.at(0).text, Catch::Contains("no collection time"));
}

TEST_CASE("marker from OBX-3: LOINC in either triplet, or a configured local code") {
  Mapper m;
  auto alt = m.map(test::oru({"OBX|1|NM|AFPX^AFP^L^1834-1^AFP^LN||7|ng/mL|||||F"}));
  CHECK(alt.results.at(0).marker == "AFP");
  auto local = m.map(test::oru({"OBX|1|NM|DCP^PIVKA^L||117|mAU/mL|||||F"}));
  CHECK(local.results.at(0).marker == "PIVKA-II");
  auto wrong_system = m.map(test::oru({"OBX|1|NM|DCP^PIVKA^99X||117|mAU/mL|||||F"}));
  CHECK(wrong_system.disposition == Disposition::ignored);
  auto pivka_ng = m.map(test::oru({"OBX|1|NM|DCP^PIVKA^L||3.2|ng/mL|||||F"}));
  CHECK(pivka_ng.results.at(0).method == "unit:ng/mL");
  CHECK(pivka_ng.results.at(0).unit == "ng/mL");
  auto mixed = m.map(test::oru({test::afp_obx("5"), "OBX|2|NM|2345-7^GLUCOSE^LN||90|mg/dL|||||F"}));
  CHECK(mixed.results.size() == 1);
  CHECK(mixed.ignored_observations == 1);
}

TEST_CASE("patients: PID-3 selection; missing patient is an error") {
  Mapper m;
  const std::string pid = "PID|1||~444^^^SSA^SS~MRN7^^^HOSP&1.2.3&ISO^MR";
  CHECK(m.map(test::oru({test::afp_obx("5")}, "C", pid)).results.at(0).patient.id == "444");
  auto o = m.options();
  o.patient_id_type = "MR";
  auto msg = hl7::Message::parse(test::oru({test::afp_obx("5")}, "C", pid));
  auto by_type = hl7::map_oru(msg, o);
  CHECK(by_type.results.at(0).patient.id == "MRN7");
  CHECK(by_type.results.at(0).patient.authority == "HOSP");
  o.patient_id_type = "PI";
  CHECK(hl7::map_oru(msg, o).disposition == Disposition::rejected_error);

  auto no_pid = m.map("MSH|^~\\&|A|B|||2016||ORU^R01|9|P|2.5\rOBR|1||F|1834-1^AFP^LN|||20160101\r" +
                      test::afp_obx("5") + "\r");
  CHECK(no_pid.disposition == Disposition::rejected_error);
  CHECK_THAT(no_pid.issues.at(0).text, Catch::Contains("PID segment is missing"));
  CHECK(m.map(test::oru({test::afp_obx("5")}, "C", "PID|1||")).disposition ==
        Disposition::rejected_error);
}

TEST_CASE("message-level rejections: type, event, version, processing id, no OBX") {
  Mapper m;
  auto msg_of = [](const std::string& type, const std::string& tail) {
    return "MSH|^~\\&|A|B|||2016||" + type + "|7|" + tail + "\rPID|1||X\rOBR|1||F|x|||20160101\r" +
           test::afp_obx("5") + "\r";
  };
  CHECK(m.map(msg_of("ADT^A01", "P|2.5")).disposition == Disposition::rejected_reject);
  CHECK(m.map(msg_of("ORU^R30", "P|2.5")).disposition == Disposition::rejected_reject);
  CHECK(m.map(msg_of("ORU^R01", "P|2.7")).disposition == Disposition::rejected_reject);
  CHECK(m.map(msg_of("ORU^R01", "T|2.5")).issues.at(0).code == 202);
  CHECK(m.map(msg_of("ORU^R01", "P^T|2.5")).disposition == Disposition::accepted);
  CHECK(m.map(msg_of("ACK", "P|2.5")).disposition == Disposition::not_acknowledged);
  CHECK(m.map("MSH|^~\\&|A|B|||2016||ORU^R01||P|2.5\rPID|1||X\r").issues.at(0).field == 10);
  CHECK_THAT(m.map("MSH|^~\\&|A|B|||2016||ORU^R01|8|P|2.3\rPID|1||X\r").issues.at(0).text,
             Catch::Contains("no observations"));
}

TEST_CASE("OBX after an SPM that follows results describe the specimen") {
  Mapper m;
  auto r = m.map(test::oru({test::afp_obx("5"), "SPM|1|||BLD", test::afp_obx("99")}));
  REQUIRE(r.results.size() == 1);
  CHECK(*r.results[0].value == 5);
  auto before = m.map(test::oru({"SPM|1|||BLD", test::afp_obx("7")}));
  CHECK(before.results.size() == 1);
}
