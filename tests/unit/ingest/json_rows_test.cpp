// POST /api/v1/results and /api/v1/milestones bodies: the CSV files' fields as JSON, all rows or
// none.
#include <catch2/catch.hpp>

#include "ingest/pipeline_fixture.hpp"

using namespace markerwatch;

TEST_CASE("json rows: results and milestones with the CSV fields", "[json-rows]") {
  test::PipelineFixture f;
  auto m = f.post_rows(R"([{"patient_id": "case-001", "kind": "resection", "date": "2016-03-10"}])",
                       ingest::FileKind::milestones_csv);
  CHECK(m.outcome == "accepted");
  CHECK(m.stored == 1);
  auto r = f.post_rows(R"([
    {"patient_id": "case-001", "marker": "AFP", "collected_at": "2016-02-01", "value": 250, "unit": "ng/mL"},
    {"patient_id": "case-001", "marker": "AFP", "collected_at": "2016-04-01", "value": ">35000",
     "unit": "ng/mL", "status": "final", "obs_id": "o-2", "reference_range": "<7", "method": null}
  ])");
  CHECK(r.outcome == "accepted");
  CHECK(r.stored == 2);
  CHECK(
      f.count(
          "SELECT count(*) FROM results WHERE source = 'api' AND collected_date < '2016-05-01'") ==
      2);
  CHECK(f.count("SELECT count(*) FROM results WHERE comparator = '>' AND uln = 7") == 1);
  auto precise = f.post_rows(
      R"([{"patient_id": "case-001", "marker": "AFP", "collected_at": "2016-05-01", "value": 2.30, "unit": "ng/mL"}])");
  CHECK(precise.stored == 1);
  CHECK(f.count("SELECT count(*) FROM results WHERE value_raw = '2.30'") == 1);
  CHECK(f.count("SELECT count(*) FROM milestones WHERE source = 'api'") == 1);
  // The same rows again: stored once.
  auto again = f.post_rows(
      R"([{"patient_id": "case-001", "marker": "AFP", "collected_at": "2016-02-01", "value": 250, "unit": "ng/mL"}])");
  CHECK(again.stored == 0);
  CHECK(again.unchanged == 1);
  // A milestone entered in error: removed, which counts as stored; then nothing to remove.
  const auto removal =
      R"([{"patient_id": "case-001", "kind": "resection", "date": "2016-03-10", "status": "entered-in-error"}])";
  CHECK(f.post_rows(removal, ingest::FileKind::milestones_csv).stored == 1);
  CHECK(f.count("SELECT count(*) FROM milestones") == 0);
  CHECK(f.post_rows(removal, ingest::FileKind::milestones_csv).unchanged == 1);
  // Both changes are in the milestone log, each with the request that carried it.
  CHECK(f.count("SELECT count(*) FROM milestone_changes c JOIN messages m ON m.id = c.message_id "
                "WHERE c.source = 'api' AND m.sender = 'api:test'") == 2);
  CHECK(f.count("SELECT count(*) FROM milestone_changes WHERE change = 'removed'") == 1);
}

TEST_CASE("json rows: bad bodies and rows change nothing", "[json-rows][bad-input]") {
  test::PipelineFixture f;
  f.post_rows(
      R"([{"patient_id": "p", "marker": "AFP", "collected_at": "2016-02-01", "value": 5, "unit": "ng/mL"}])");
  const auto before = f.count("SELECT count(*) FROM results");
  for (const std::string& body :
       std::vector<std::string>{"", "{", "{}", "\"x\"", std::string(100, '['), "[1, 2]"}) {
    INFO(body);
    auto out = f.post_rows(body);
    CHECK(out.outcome == "rejected");
    CHECK((out.refusal || !out.rejected.empty()));
  }
  struct Case {
    std::string row, reason;
  };
  const std::vector<Case> cases = {
      {R"({"patient_id": "p", "marker": "AFP", "collected_at": "2016-02-01", "value": 5})",
       "lacks the required column 'unit'"},
      {R"({"patient_id": "p", "marker": "XYZ", "collected_at": "2016-02-01", "value": 5, "unit": "ng/mL"})",
       "unknown marker"},
      {R"({"patient_id": "p", "marker": "AFP", "collected_at": "yesterday", "value": 5, "unit": "ng/mL"})",
       "not an ISO 8601"},
      {R"({"patient_id": "p", "marker": "AFP", "collected_at": "2016-02-01", "value": [5], "unit": "ng/mL"})",
       "'value' must be a string or a number"},
      {R"({"patient_id": "p", "marker": "AFP", "collected_at": "2016-02-01", "value": 5, "unit": "mmol/L"})",
       "cannot be converted"},
      {R"({"patient_id": "p\u0001", "marker": "AFP", "collected_at": "2016-02-01", "value": 5, "unit": "ng/mL"})",
       "control characters"},
      {R"({"patient_id": "p", "marker": "AFP", "collected_at": "2016-02-01", "value": 5, "unit": "ng/mL", "colour": "red"})",
       "unknown column 'colour'"},
  };
  for (const auto& c : cases) {
    INFO(c.row);
    // A good row first: it is not stored either.
    auto out = f.post_rows(
        R"([{"patient_id": "q", "marker": "AFP", "collected_at": "2016-03-01", "value": 6, "unit": "ng/mL"}, )" +
        c.row + "]");
    CHECK(out.outcome == "rejected");
    REQUIRE(out.rejected.size() == 1);
    CHECK(out.rejected[0].index == 1);
    CHECK_THAT(out.rejected[0].reason, Catch::Contains(c.reason));
    CHECK(f.count("SELECT count(*) FROM results") == before);
  }
  // A row the store refuses (a correction without obs_id matching two values that day): the
  // rows before it are undone, the message is kept as rejected with the reason.
  f.post_rows(
      R"([{"patient_id": "amb", "marker": "AFP", "collected_at": "2016-02-01", "value": 5, "unit": "ng/mL"},
             {"patient_id": "amb", "marker": "AFP", "collected_at": "2016-02-01T10:00", "value": 6, "unit": "ng/mL"}])");
  const auto stored_before = f.count("SELECT count(*) FROM results");
  auto ambiguous = f.post_rows(
      R"([{"patient_id": "q2", "marker": "AFP", "collected_at": "2016-03-01", "value": 6, "unit": "ng/mL"},
          {"patient_id": "amb", "marker": "AFP", "collected_at": "2016-02-01", "value": 7, "unit": "ng/mL", "status": "corrected"}])");
  CHECK(ambiguous.outcome == "rejected");
  REQUIRE(ambiguous.rejected.size() == 1);
  CHECK(ambiguous.rejected[0].index == 1);
  CHECK(f.count("SELECT count(*) FROM results") == stored_before);
  CHECK(f.count("SELECT count(*) FROM messages WHERE id = " + std::to_string(ambiguous.message_id) +
                " AND outcome = 'rejected' AND error LIKE '%[1]%'") == 1);
  CHECK(f.count("SELECT count(*) FROM messages WHERE outcome = 'rejected'") ==
        1 + static_cast<std::int64_t>(6 + cases.size()));
}
