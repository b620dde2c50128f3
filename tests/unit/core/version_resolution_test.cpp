#include <catch2/catch.hpp>

#include "core/version_resolution.hpp"

using namespace markerwatch;
using S = ResultStatus;

TEST_CASE("a correction replaces the final value of the same observation") {
  auto r = resolve_versions({{1, "obs1", S::final_result, ""}, {2, "obs1", S::corrected, ""}});
  CHECK(r.effective_rows == std::vector<std::int64_t>{2});
}

TEST_CASE("a final arriving after its own correction never undoes it") {
  auto r = resolve_versions({{1, "obs1", S::corrected, "2020-01-01T00:00:00Z"},
                             {2, "obs1", S::final_result, "2030-01-01T00:00:00Z"}});
  CHECK(r.effective_rows == std::vector<std::int64_t>{1});
}

TEST_CASE("a removal leaves no value; a preliminary is kept as the current version") {
  CHECK(resolve_versions({{1, "a", S::final_result, ""}, {2, "a", S::entered_in_error, ""}})
            .effective_rows.empty());
  CHECK(resolve_versions({{1, "a", S::preliminary, ""}}).effective_rows ==
        std::vector<std::int64_t>{1});
  CHECK(resolve_versions({{1, "a", S::preliminary, ""}, {2, "a", S::final_result, ""}})
            .effective_rows == std::vector<std::int64_t>{2});
}

TEST_CASE(
    "with the same status the later received_at wins, then the later arrival with a warning") {
  auto by_time = resolve_versions({{1, "a", S::corrected, "2020-02-01T00:00:00Z"},
                                   {2, "a", S::corrected, "2020-01-01T00:00:00Z"}});
  CHECK(by_time.effective_rows == std::vector<std::int64_t>{1});
  auto by_arrival =
      resolve_versions({{1, "a", S::final_result, ""}, {2, "a", S::final_result, ""}});
  CHECK(by_arrival.effective_rows == std::vector<std::int64_t>{2});
  CHECK_FALSE(by_arrival.warnings.empty());
}

TEST_CASE("a correction without observation id applies to the single value of its date") {
  auto r = resolve_versions({{1, "", S::final_result, ""}, {2, "", S::corrected, ""}});
  CHECK(r.effective_rows == std::vector<std::int64_t>{2});
  // Arriving before any value, it waits, and applies as soon as the value comes.
  CHECK(resolve_versions({{1, "", S::corrected, ""}}).effective_rows.empty());
  CHECK(
      resolve_versions({{1, "", S::corrected, ""}, {2, "", S::final_result, ""}}).effective_rows ==
      std::vector<std::int64_t>{1});
  // With several values on that date it applies to none.
  auto ambiguous = resolve_versions(
      {{1, "", S::final_result, ""}, {2, "x", S::final_result, ""}, {3, "", S::deleted, ""}});
  CHECK(ambiguous.effective_rows == std::vector<std::int64_t>{1, 2});
  CHECK_FALSE(ambiguous.warnings.empty());
  CHECK(count_value_groups({{1, "", S::final_result, ""}, {2, "x", S::final_result, ""}}) == 2);
}

TEST_CASE("distinct observations on one date are all effective") {
  auto r = resolve_versions({{1, "a", S::final_result, ""}, {2, "b", S::final_result, ""}});
  CHECK(r.effective_rows == std::vector<std::int64_t>{1, 2});
}

TEST_CASE("a first version is admitted exactly as resolve_versions would resolve it alone") {
  // admit_version answers the usual case, no earlier version on that date, without the general
  // resolution: for every status, with and without observation id, the outcome must be the same.
  for (auto status : {S::preliminary, S::final_result, S::corrected, S::amended,
                      S::entered_in_error, S::cancelled, S::deleted})
    for (const std::string obs_id : {"", "obs1"}) {
      INFO(std::string(to_string(status)) + " obs_id='" + obs_id + "'");
      const StoredVersion v{7, obs_id, status, "2020-01-01T00:00:00Z"};
      const auto admitted =
          admit_version({}, {v, "2020-01-01", "5", "ng/mL", ""}, "AFP", "2020-01-01");
      REQUIRE(admitted);
      const auto alone = resolve_versions({v});
      CHECK(admitted->effective_rows == alone.effective_rows);
      CHECK(admitted->warnings == alone.warnings);
    }
}
