// [fhir.upstream]: the search's URL, a page's next link and the latest update on it.
#include <catch2/catch.hpp>

#include "core/errors.hpp"
#include "fhir/search_paging.hpp"

using namespace markerwatch;
using namespace markerwatch::fhir;

namespace {

Json entry_updated(const Json& last_updated) {
  return {
      {"resource", {{"resourceType", "Observation"}, {"meta", {{"lastUpdated", last_updated}}}}}};
}

}  // namespace

TEST_CASE("search paging: the first page's URL starts at the latest update stored") {
  CHECK(search_url("https://x/fhir", "Observation", "") == "https://x/fhir/Observation");
  CHECK(search_url("https://x/fhir", "Observation", "2026-01-07T10:00:00Z") ==
        "https://x/fhir/Observation?_lastUpdated=ge2026-01-07T10:00:00Z");
  CHECK(search_url("https://x/fhir", "Observation?code=http://loinc.org|1834-1",
                   "2026-01-07T10:00:00.250Z") ==
        "https://x/fhir/Observation?code=http://"
        "loinc.org|1834-1&_lastUpdated=ge2026-01-07T10:00:00.250Z");
}

TEST_CASE("search paging: a page's next link and the latest meta.lastUpdated on it") {
  Json page = {
      {"resourceType", "Bundle"},
      {"type", "searchset"},
      {"link", Json::array({{{"relation", "self"}, {"url", "https://x/fhir/Observation"}},
                            {{"relation", "next"}, {"url", "https://x/fhir?_getpages=a"}}})},
      {"entry",
       Json::array({entry_updated("2026-01-07T10:00:00Z"),
                    // 09:30:00.5 UTC: earlier, though its text sorts later
                    entry_updated("2026-01-07T10:30:00.5+01:00"),
                    entry_updated("2026-01-07T10:00:00.001Z"), entry_updated("not a time"),
                    entry_updated(7),
                    entry_updated("2026-01-08"),  // a date, not an instant
                    Json{{"resource", {{"resourceType", "Patient"}}}}, Json("not an entry")})}};
  auto read = read_search_page(page);
  REQUIRE(read.next);
  CHECK(*read.next == "https://x/fhir?_getpages=a");
  REQUIRE(read.latest_update);
  CHECK(*read.latest_update == "2026-01-07T10:00:00.001Z");

  page.erase("link");
  page["entry"] = Json::array();
  read = read_search_page(page);
  CHECK_FALSE(read.next);
  CHECK_FALSE(read.latest_update);

  CHECK_THROWS_AS(read_search_page(Json::array()), InputError);
  CHECK_THROWS_WITH(read_search_page({{"resourceType", "OperationOutcome"}}),
                    Catch::Contains("not a FHIR Bundle"));
  CHECK_THROWS_WITH(read_search_page({{"resourceType", "Bundle"}, {"type", "batch-response"}}),
                    Catch::Contains("not a searchset"));
}

TEST_CASE("search paging: instants compare as times, whatever their fraction digits") {
  CHECK(later_instant("2026-01-07T10:00:00.001Z", "2026-01-07T10:00:00Z"));
  CHECK_FALSE(later_instant("2026-01-07T10:00:00Z", "2026-01-07T10:00:00.001Z"));
  CHECK(later_instant("2026-01-07T10:00:00.5Z", "2026-01-07T10:00:00.25Z"));
  CHECK_FALSE(later_instant("2026-01-07T10:00:00Z", "2026-01-07T10:00:00Z"));
  CHECK(later_instant("2026-01-07T10:00:00Z", ""));
  CHECK_FALSE(later_instant("", "2026-01-07T10:00:00Z"));
}
