// The replay's in-memory ledger: RULES.md E3 on arrival, with each version's texts packed into
// one string. These cases check that what goes in comes out exactly, long and odd texts included.
#include <catch2/catch.hpp>

#include "core/errors.hpp"
#include "engine/ledger.hpp"

using namespace markerwatch;

namespace {
ResultRecord afp(const std::string& date, double value,
                 ResultStatus status = ResultStatus::final_result, const std::string& obs_id = "") {
  ResultRecord r;
  r.patient = {"p1", ""};
  r.marker = "AFP";
  r.collected_date = date;
  r.collected_at = date + "T08:00:00Z";
  r.value = value;
  r.value_raw = std::to_string(value);
  r.unit = r.unit_raw = "ng/mL";
  r.status = status;
  r.obs_id = obs_id;
  return r;
}
}  // namespace

TEST_CASE("ledger: a correction replaces its original and keeps a long observation id exactly") {
  engine::PatientLedger ledger;
  const std::string long_id = std::string(300, 'x') + std::string("\0\xff|", 3) + "end";
  REQUIRE(ledger.add_result(afp("2020-03-01", 30, ResultStatus::final_result, long_id)));
  REQUIRE(ledger.add_result(afp("2020-03-01", 35, ResultStatus::corrected, long_id)));
  const auto& values = ledger.history().values;
  REQUIRE(values.size() == 1);
  CHECK(values[0].value == 35);
  CHECK(values[0].obs_id == long_id);
  CHECK(values[0].unit == "ng/mL");
}

TEST_CASE("ledger: a repeat is a no-op, a version differing in any compared text is not") {
  engine::PatientLedger ledger;
  auto first = afp("2020-03-01", 30, ResultStatus::final_result, "obs-1");
  first.reference_range = std::string(400, '<');
  REQUIRE(ledger.add_result(first));
  CHECK_FALSE(ledger.add_result(first));  // the same version again
  auto other_range = first;
  other_range.reference_range.back() = '>';  // differs only in its last byte, past 255
  CHECK(ledger.add_result(other_range));
  auto other_time = first;
  other_time.received_at = "2020-03-02T09:00:00Z";
  CHECK(ledger.add_result(other_time));
  CHECK_FALSE(ledger.add_result(other_time));
}

TEST_CASE("ledger: dates arriving out of order each keep their own versions") {
  engine::PatientLedger ledger;
  REQUIRE(ledger.add_result(afp("2020-05-01", 50)));
  REQUIRE(ledger.add_result(afp("2020-01-01", 10, ResultStatus::final_result, "obs-a")));
  REQUIRE(ledger.add_result(afp("2020-03-01", 30)));
  auto psa = afp("2020-01-01", 4);
  psa.marker = "PSA";
  REQUIRE(ledger.add_result(psa));
  // A removal of the earliest AFP value finds its group among the others.
  REQUIRE(ledger.add_result(afp("2020-01-01", 0, ResultStatus::entered_in_error, "obs-a")));
  std::vector<std::pair<std::string, double>> got;
  for (const auto& v : ledger.history().values) got.emplace_back(v.marker, v.value);
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::pair<std::string, double>>{{"AFP", 30}, {"AFP", 50}, {"PSA", 4}});
}

TEST_CASE("ledger: a correction without observation id that matches two values is refused") {
  engine::PatientLedger ledger;
  REQUIRE(ledger.add_result(afp("2020-03-01", 30, ResultStatus::final_result, "obs-1")));
  REQUIRE(ledger.add_result(afp("2020-03-01", 40, ResultStatus::final_result, "obs-2")));
  CHECK_THROWS_AS(ledger.add_result(afp("2020-03-01", 35, ResultStatus::corrected)), InputError);
  CHECK(ledger.history().values.size() == 2);  // nothing changed
}
