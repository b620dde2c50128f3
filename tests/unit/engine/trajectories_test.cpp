// Trajectories for the other markers, each worked out by hand from RULES.md (the reasoning is in
// the comments) and checked against the engine.
#include <catch2/catch.hpp>

#include "engine_support.hpp"

using namespace markerwatch;
using namespace markerwatch::test;
using engine::EventType;

namespace {

ReplayRun replay(const std::string& milestones, const std::vector<Row>& results) {
  ReplayRun run;
  if (!milestones.empty()) run.milestones(milestones);
  run.results(rows(results));
  REQUIRE(run.replayer.rejections().empty());
  return run;
}

Row psa(const std::string& date, const std::string& value) {
  return {date, value, "PSA"};
}

}  // namespace

TEST_CASE("PSA after radical prostatectomy: AUA >= 0.2 confirmed, ULN 0.1 over the lab's range") {
  // B = 8 (2019-12-15). Profile: ULN 0.1, R_ABS 0.2/14, HL 3.2, DT_high 365.
  // R_NODECLINE: first value 14-90 d is <0.05 (not > 0.1). R_NONORM: Dmax = max(60, 6.4 x
  // log2(80)) = 60; the first value in [60, 150] d is <0.05, normal. R_ABS: 0.2 on 2021-01-01
  // after values below 0.2, confirmed by 0.25 on 2021-01-20 (19 d). DT over 0.1, 0.2, 0.25
  // (141 d span) ~112 d < 365: high.
  std::vector<Row> values = {psa("2019-12-15", "8"),    psa("2020-03-01", "<0.05"),
                             psa("2020-09-01", "0.1"),  psa("2021-01-01", "0.2"),
                             psa("2021-01-20", "0.25"), psa("2021-03-01", "0.15"),
                             psa("2021-04-01", "0.16")};
  for (auto& v : values) v.range = "0-4";  // the lab's range must not beat the profile's 0.1
  auto run = replay(ms("radical_prostatectomy", "2020-01-01"), values);
  auto a = only_alert(run);
  CHECK(rules_of(a) == "R_ABS");
  CHECK(format_day(a.event_day) == "2021-01-01");
  CHECK(format_day(a.fire_day) == "2021-01-20");
  CHECK(a.severity == engine::Severity::high);
  CHECK(a.doubling_time_days.value() == Approx(111.6).margin(1));
  // 0.15 and 0.16 are normal against the lab's 4 but not against 0.1: not resolved.
  CHECK(run.of_type(EventType::resolve).empty());
}

TEST_CASE("PSA after radiotherapy: Phoenix nadir + 2 fires the same day and never self-resolves") {
  // Profile: R_RISE 0% / +2.0 / c = 0; no ULN. Nadir 1.0 (2020-06-01); 3.0 on 2020-12-01 is
  // exactly nadir + 2: fires that day. 2.9 would not.
  auto run = replay(ms("radiotherapy_start", "2020-01-01"),
                    {psa("2019-12-20", "10"), psa("2020-06-01", "1.0"), psa("2020-12-01", "3.0"),
                     psa("2021-01-01", "0.5"), psa("2021-02-01", "0.5")});
  auto a = only_alert(run);
  CHECK(rules_of(a) == "R_RISE");
  CHECK(a.event_day == a.fire_day);
  CHECK(format_day(a.fire_day) == "2020-12-01");
  CHECK_FALSE(a.confirmer.has_value());
  CHECK(run.of_type(EventType::resolve).empty());
  CHECK(replay(ms("radiotherapy_start", "2020-01-01"),
               {psa("2019-12-20", "10"), psa("2020-06-01", "1.0"), psa("2020-12-01", "2.9")})
            .news()
            .empty());
}

TEST_CASE("PSA on systemic therapy: PCWG3 +25% and +2 confirmed 21 days later, 84-day flare") {
  // Nadir 4 (day 60). 6 on day 79 meets max(5, 6) but is inside the 84-day flare window: INFO.
  // 7 on day 121 is a candidate (threshold 6), confirmed by 7.5 on day 142 (21 d).
  auto run = replay(ms("systemic_start", "2020-01-01"),
                    {psa("2019-12-20", "20"), psa("2020-02-01", "10"), psa("2020-03-01", "4"),
                     psa("2020-03-20", "6"), psa("2020-05-01", "7"), psa("2020-05-22", "7.5")});
  auto a = only_alert(run);
  CHECK(format_day(a.event_day) == "2020-05-01");
  CHECK(format_day(a.fire_day) == "2020-05-22");
  CHECK(run.notes("flare_guard").size() == 1);
  // Confirmed 20 days later: not yet.
  CHECK(
      replay(ms("systemic_start", "2020-01-01"), {psa("2019-12-20", "20"), psa("2020-03-01", "4"),
                                                  psa("2020-05-01", "7"), psa("2020-05-21", "7.5")})
          .news()
          .empty());
}

TEST_CASE("PSA without a profile anchor is not evaluated by default") {
  CHECK(replay("", {psa("2020-01-01", "1"), psa("2020-06-01", "8"), psa("2020-07-01", "9")})
            .events.empty());
}

TEST_CASE("CA-125 never normalised: GCIG doubling from the nadir, confirmed a week later") {
  // No milestone: the progression rules run on the values alone. Nadir 100; 200 (+100%) on
  // 2020-03-01 confirmed by 220 on 2020-03-08 (7 d).
  Row n{"2020-01-01", "100", "CA-125", "U/mL"}, c{"2020-03-01", "200", "CA-125", "U/mL"},
      f{"2020-03-08", "220", "CA-125", "U/mL"};
  auto a = only_alert(replay("", {n, c, f}));
  CHECK(rules_of(a) == "R_RISE");
  CHECK_FALSE(a.anchor.has_value());
  c.value = "199.99";
  CHECK(replay("", {n, c, f}).news().empty());
}

TEST_CASE("CA-125 after normalisation: R_RENORM (>= 2 x ULN), R_RISE no longer applies") {
  // 30 is normal (ULN 35); 100 is > 35 and >= 70: R_RENORM; R_RISE (only if never normalised)
  // does not apply although 100 is +233%.
  Row n{"2020-01-01", "30", "CA-125", "U/mL"}, c{"2020-03-01", "100", "CA-125", "U/mL"},
      f{"2020-03-08", "105", "CA-125", "U/mL"};
  CHECK(rules_of(only_alert(replay("", {n, c, f}))) == "R_RENORM");
  c.value = "69.99";
  CHECK(replay("", {n, c, f}).news().empty());
}

TEST_CASE("CEA after resection: normalises, then rises above ULN 5 (k = 1)") {
  // B 50 > 2 x 5: R_NODECLINE looks at day 30 (10): 10 < 25, silent. R_NONORM: Dmax =
  // max(60, 8.8 x log2(10)) = 60; first value in [60, 150] d is 3 (day 90): normal, silent.
  // 6 on day 180: nadir 3 -> threshold max(4.5, 5.5) = 5.5 (R_RISE) and > 5 >= 5 (R_RENORM);
  // confirmed by 7 on day 194.
  auto cea = [](const std::string& d, const std::string& v) { return Row{d, v, "CEA"}; };
  auto run = replay(ms("resection", "2020-01-01"),
                    {cea("2019-12-28", "50"), cea("2020-01-31", "10"), cea("2020-03-31", "3"),
                     cea("2020-06-29", "6"), cea("2020-07-13", "7")});
  auto a = only_alert(run);
  CHECK(rules_of(a) == "R_RISE,R_RENORM");
  CHECK(format_day(a.event_day) == "2020-06-29");
  CHECK(!run.notes("response").empty());  // 10 is a fall of 80% from 50
}

TEST_CASE("A noisy AFP inside its biological variation stays silent") {
  // Nadir 3: R_RISE needs >= 8 (3 + 5); R_RENORM needs 20. Values wander between 3 and 7.9.
  std::vector<Row> values = {{"2019-12-20", "6"}};
  const char* noise[] = {"3", "6", "4", "7.5", "5", "7.9", "4.2", "6.6", "3.8", "7.1"};
  int month = 2;
  for (const char* v : noise) {
    values.push_back(
        {"2020-" + std::string(month < 10 ? "0" : "") + std::to_string(month) + "-01", v});
    ++month;
  }
  auto run = replay(ms("tace", "2020-01-01"), values);
  CHECK(run.news().empty());
  CHECK(run.of_type(EventType::suppressed).empty());
}

TEST_CASE("PIVKA-II on warfarin: a rise while anticoagulated is suppressed and logged") {
  // Warfarin from 2020-02-15 (no stop): PIVKA-II 30 -> 90 -> 95 meets R_RISE and R_RENORM, but
  // the candidate date has an active VKA: SUPPRESSED (one note per rule), no alert. AFP, steady.
  auto pivka = [](const std::string& d, const std::string& v) {
    return Row{d, v, "PIVKA-II", "mAU/mL"};
  };
  auto run = replay(ms("resection", "2020-01-01") + ms("vka_start", "2020-02-15"),
                    {pivka("2019-12-20", "35"),
                     pivka("2020-02-01", "30"),
                     pivka("2020-03-01", "90"),
                     pivka("2020-03-15", "95"),
                     {"2020-02-01", "4"},
                     {"2020-03-01", "4.5"}});
  CHECK(run.news().empty());
  auto suppressed = run.of_type(EventType::suppressed);
  REQUIRE(suppressed.size() == 2);
  CHECK(suppressed[0].note->marker == "PIVKA-II");
}
