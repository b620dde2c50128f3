// One test per clause of RULES.md, with values on both sides of every threshold. Each trajectory
// is worked out by hand in its comments. Patient p1, AFP (ULN 10 ng/mL) unless stated.
#include <catch2/catch.hpp>

#include "engine_support.hpp"

using namespace markerwatch;
using namespace markerwatch::test;
using engine::AlertClass;
using engine::EventType;
using engine::Rule;

namespace {

// tace (not curative: no residual rules) on 2020-01-01 with baseline 100 on 2019-12-20 and a
// nadir value on 2020-02-01; then the given values.
ReplayRun after_tace(const std::string& nadir, const std::vector<Row>& later) {
  ReplayRun run;
  run.milestones(ms("tace", "2020-01-01"));
  std::vector<Row> all = {{"2019-12-20", "100"}, {"2020-02-01", nadir}};
  all.insert(all.end(), later.begin(), later.end());
  run.results(rows(all));
  REQUIRE(run.replayer.rejections().empty());
  return run;
}

}  // namespace

TEST_CASE("R_RISE: v >= N x 1.5 and v - N >= 5, both just met and just missed") {
  // Nadir 20: threshold max(30, 25) = 30.
  auto met = after_tace("20", {{"2020-03-01", "30"}, {"2020-03-15", "30"}});
  auto a = only_alert(met);
  CHECK(rules_of(a) == "R_RISE");
  CHECK(format_day(a.event_day) == "2020-03-01");
  CHECK(format_day(a.fire_day) == "2020-03-15");
  CHECK(a.nadir->value == 20);
  CHECK(a.change_pct.value() == Approx(50));
  CHECK(after_tace("20", {{"2020-03-01", "29.99"}, {"2020-03-15", "30"}}).news().empty());
  // Nadir 8: threshold max(12, 13) = 13: the absolute floor decides (8 is normal, so R_RENORM
  // would need 20).
  CHECK(rules_of(only_alert(after_tace("8", {{"2020-03-01", "13"}, {"2020-03-15", "13"}}))) ==
        "R_RISE");
  CHECK(after_tace("8", {{"2020-03-01", "12.99"}, {"2020-03-15", "13"}}).news().empty());
  // Decimal thresholds compare exactly: 17.1 x 1.5 = 25.65 is met by 25.65.
  CHECK(rules_of(only_alert(
            after_tace("17.1", {{"2020-03-01", "25.65"}, {"2020-03-15", "25.65"}}))) == "R_RISE");
}

TEST_CASE("E7: confirmation one day short waits; exactly met fires; no maximum interval") {
  auto short_by_one = after_tace("20", {{"2020-03-01", "30"}, {"2020-03-14", "31"}});
  CHECK(short_by_one.news().empty());
  // The next value (after 13 days the intermediate 31 also satisfies) confirms.
  short_by_one.results(rows({{"2020-09-01", "40"}}));
  auto a = only_alert(short_by_one);
  CHECK(format_day(a.event_day) == "2020-03-01");
  CHECK(format_day(a.fire_day) == "2020-09-01");
  CHECK(a.confirmer->value == 40);
  // An intermediate that breaks the predicate drops the candidate.
  CHECK(after_tace("20", {{"2020-03-01", "30"}, {"2020-03-08", "25"}, {"2020-03-15", "30"}})
            .news()
            .empty());
}

TEST_CASE("E7: values tied on date, value and observation id take one order however read") {
  // RULES.md E7 orders a date's values by value, then observation id. Two AFP values of 100 on
  // the day before a resection, alike in both but for their reference ranges (ULN 10 and 200),
  // tie there; whichever comes last is the episode's baseline B, and R_NODECLINE needs B above
  // twice its ULN (90 on day 22 is above the ULN and half of B). The store and a replay's ledger
  // list such values in different orders, so the outcome must not depend on it.
  const auto s = utc_settings();
  const auto config = settings::engine_config(s);
  auto afp = [](const std::string& date, double v, std::optional<double> uln) {
    return engine::Value{"AFP", "", day(date), v, Comparator::none, "ng/mL", uln, ""};
  };
  engine::PatientHistory h;
  h.patient = "p1";
  h.milestones.push_back({"resection", day("2020-01-10"), std::nullopt, {}});
  h.values = {afp("2020-01-09", 100, 10), afp("2020-01-09", 100, 200),
              afp("2020-02-01", 90, std::nullopt)};
  const auto one_way = engine::evaluate(h, config);
  std::swap(h.values[0], h.values[1]);
  const auto other_way = engine::evaluate(h, config);
  CHECK(one_way.alerts == other_way.alerts);
  // The order chosen puts the larger reference limit last, as the baseline: no R_NODECLINE.
  CHECK(one_way.alerts.empty());
}

TEST_CASE("E4: a <X between candidate and confirmer drops it and becomes the nadir") {
  auto run = after_tace(
      "20",
      {{"2020-03-01", "30"}, {"2020-03-08", "<1"}, {"2020-03-15", "30"}, {"2020-03-29", "30"}});
  auto a = only_alert(run);
  CHECK(format_day(a.event_day) == "2020-03-15");  // the first candidate was dropped
  CHECK(a.nadir->value == 1);                      // <1 contributes 1 to the nadir
  CHECK(a.nadir->comparator == Comparator::less);
}

TEST_CASE("E4: <X is never a candidate; >X satisfies >= T only when X >= T") {
  CHECK(after_tace("20", {{"2020-03-01", "<40"}, {"2020-03-15", "40"}}).news().empty());
  auto censored_high = after_tace("20", {{"2020-03-01", ">30"}, {"2020-03-15", ">30"}});
  CHECK(format_day(only_alert(censored_high).event_day) == "2020-03-01");
  CHECK(after_tace("20", {{"2020-03-01", ">29"}, {"2020-03-15", ">29"}}).news().empty());
}

TEST_CASE("E4/E6: >X is left out of the nadir; the nadir date is the latest attaining it") {
  ReplayRun run;
  run.milestones(ms("tace", "2020-01-01"));
  run.results(rows({{"2019-12-20", ">1000"},
                    {"2020-02-01", "500"},
                    {"2020-03-01", "500"},
                    {"2020-04-01", "800"},
                    {"2020-04-20", "820"}}));
  auto a = only_alert(run);
  CHECK(a.nadir->value == 500);
  CHECK(format_day(a.nadir->day) == "2020-03-01");
  CHECK(rules_of(a) == "R_RISE");  // no value below 400 before it: no R_ABS
}

TEST_CASE("R_RENORM: after a normal value, v > ULN and v >= 2 x ULN") {
  CHECK(rules_of(only_alert(after_tace("8", {{"2020-03-01", "20"}, {"2020-03-15", "20"}}))) ==
        "R_RISE,R_RENORM");
  CHECK(rules_of(only_alert(after_tace("8", {{"2020-03-01", "19.99"}, {"2020-03-15", "20"}}))) ==
        "R_RISE");
}

TEST_CASE("R_ABS: crossing 400 after a value below it; not when never below") {
  auto run_with = [](const std::string& baseline, const std::string& candidate) {
    ReplayRun run;
    run.milestones(ms("tace", "2020-01-01"));
    // Nadir 300: R_RISE would need 450, so only R_ABS can fire.
    run.results(rows({{"2019-12-20", baseline},
                      {"2020-02-01", "300"},
                      {"2020-03-01", candidate},
                      {"2020-03-15", "400"}}));
    return run;
  };
  CHECK(rules_of(only_alert(run_with("350", "400"))) == "R_ABS");
  CHECK(run_with("350", "399.99").news().empty());
  ReplayRun never_below;
  never_below.milestones(ms("tace", "2020-01-01"));
  never_below.results(rows({{"2019-12-20", "500"},
                            {"2020-02-01", "450"},
                            {"2020-03-01", "600"},
                            {"2020-03-15", "600"}}));
  CHECK(never_below.news().empty());
}

TEST_CASE("A reference range sent with a result gives that value its own ULN") {
  // With range 0-20, the nadir 15 is normal, so 40 (>= 2 x 20) also fires R_RENORM.
  ReplayRun run;
  run.milestones(ms("tace", "2020-01-01"));
  Row b{"2019-12-20", "100"}, n{"2020-02-01", "15"}, c{"2020-03-01", "40"}, d{"2020-03-15", "41"};
  for (auto* r : {&b, &n, &c, &d}) r->range = "0-20";
  run.results(rows({b, n, c, d}));
  CHECK(rules_of(only_alert(run)) == "R_RISE,R_RENORM");
  // Without it 15 is above the default ULN 10: R_RISE alone.
  CHECK(rules_of(only_alert(after_tace("15", {{"2020-03-01", "40"}, {"2020-03-15", "41"}}))) ==
        "R_RISE");
}

TEST_CASE("AFP in IU/mL is evaluated in ng/mL (x1.21)") {
  auto run = after_tace(
      "20", {{"2020-03-01", "25", "AFP", "IU/mL"}, {"2020-03-15", "25", "AFP", "IU/mL"}});
  auto a = only_alert(run);
  CHECK(a.value.value == Approx(30.25));
  CHECK(a.unit == "ng/mL");
}

TEST_CASE("E5: same-day tace and resection collapse into one curative anchor") {
  ReplayRun run;
  run.milestones(ms("tace", "2020-01-01") + ms("resection", "2020-01-01"));
  run.results(rows({{"2019-12-25", "1000"}, {"2020-02-01", "600"}}));
  auto a = only_alert(run);
  CHECK(rules_of(a) == "R_NODECLINE");
  CHECK(a.anchor->kind == "resection+tace");
  CHECK(a.anchor->curative);
  // tace alone is not curative: no residual rule.
  ReplayRun tace_only;
  tace_only.milestones(ms("tace", "2020-01-01"));
  tace_only.results(rows({{"2019-12-25", "1000"}, {"2020-02-01", "600"}}));
  CHECK(tace_only.news().empty());
}

TEST_CASE("E5: a value on the anchor day is pre-anchor and is the baseline") {
  ReplayRun run;
  run.milestones(ms("resection", "2020-01-01"));
  run.results(rows({{"2019-12-01", "50"}, {"2020-01-01", "1000"}, {"2020-01-31", "600"}}));
  auto a = only_alert(run);
  CHECK(a.baseline->value == 1000);
  CHECK(format_day(a.baseline->day) == "2020-01-01");
  CHECK(format_day(a.event_day) == "2020-01-31");
  CHECK(a.severity == engine::Severity::standard);  // 600 < B (E10)
}

TEST_CASE("E5: an episode without baseline has no residual rules; a milestone can name markers") {
  ReplayRun run;
  run.milestones(ms("resection", "2020-01-01"));
  run.results(rows({{"2019-11-01", "1000"}, {"2020-02-01", "600"}}));  // 61 d before: no B
  CHECK(run.news().empty());
  ReplayRun other_marker;
  other_marker.milestones(ms("resection", "2020-01-01", "", "PIVKA-II"));
  other_marker.results(rows({{"2019-12-25", "1000"}, {"2020-02-01", "600"}}));
  CHECK(other_marker.news().empty());  // AFP has no anchor: the resection concerns PIVKA-II
}

TEST_CASE("R_NODECLINE: first value 14-90 days after a curative anchor, thresholds") {
  auto run_with = [](const std::string& b, std::vector<Row> after) {
    ReplayRun run;
    run.milestones(ms("resection", "2020-01-01"));
    after.insert(after.begin(), Row{"2019-12-25", b});
    run.results(rows(after));
    return run;
  };
  // Exactly half of B still fires (not even one halving).
  CHECK(rules_of(only_alert(run_with("1000", {{"2020-01-15", "500"}}))) == "R_NODECLINE");
  CHECK(run_with("1000", {{"2020-01-15", "499.99"}}).news().empty());
  // Day 13 is outside the window; the first value inside (day 20, 400) decides: silent.
  CHECK(run_with("1000", {{"2020-01-14", "900"}, {"2020-01-21", "400"}}).news().empty());
  // B must exceed 2 x ULN: 20 does not.
  CHECK(run_with("20", {{"2020-01-15", "19"}}).news().empty());
  auto high = only_alert(run_with("20.01", {{"2020-01-15", "21"}}));
  CHECK(high.severity == engine::Severity::high);  // v >= B
  // Day 90 is inside the window, day 91 outside.
  CHECK(run_with("1000", {{"2020-03-31", "900"}}).news().size() == 1);
  CHECK(run_with("1000", {{"2020-04-01", "900"}}).news().empty());
}

TEST_CASE("R_NONORM: above ULN after Dmax, confirmed 14 days later; not after normalising") {
  // B 1000, ULN 10, HL 7: Dmax = max(60, 2 x 7 x log2(100)) = 93.0 days.
  auto run_with = [](std::vector<Row> after) {
    ReplayRun run;
    run.milestones(ms("resection", "2020-01-01"));
    after.insert(after.begin(), Row{"2019-12-25", "1000"});
    run.results(rows(after));
    return run;
  };
  auto fires = run_with({{"2020-01-31", "400"}, {"2020-04-04", "50"}, {"2020-04-18", "40"}});
  auto a = only_alert(fires);
  CHECK(rules_of(a) == "R_NONORM");
  CHECK(a.identity.cls == AlertClass::residual);
  CHECK(format_day(a.event_day) == "2020-04-04");  // day 94
  CHECK(format_day(a.fire_day) == "2020-04-18");
  CHECK(a.severity == engine::Severity::standard);
  // Day 93 is before Dmax: the first value in the window is then day 94's.
  auto day93 = run_with(
      {{"2020-01-31", "400"}, {"2020-04-03", "50"}, {"2020-04-17", "40"}, {"2020-05-01", "45"}});
  CHECK(format_day(only_alert(day93).event_day) == "2020-04-17");
  CHECK(format_day(only_alert(day93).fire_day) == "2020-05-01");
  // A normal value before the candidate: no R_NONORM (a progression alert instead).
  auto normalised = run_with({{"2020-03-01", "8"}, {"2020-04-04", "50"}, {"2020-04-18", "40"}});
  for (const auto& t : normalised.live_alerts())
    CHECK(t.alert.identity.cls == AlertClass::progression);
}

TEST_CASE("A_DT / E10: a slow rise is standard severity, a fast one high") {
  // ln fit over 20 (02-01), 31 (08-01), 32 (08-15): doubling time ~290 d > 90.
  auto slow = only_alert(after_tace("20", {{"2020-08-01", "31"}, {"2020-08-15", "32"}}));
  CHECK(slow.severity == engine::Severity::standard);
  CHECK(slow.doubling_time_days.value() > 200);
  auto fast = only_alert(
      after_tace("20", {{"2020-03-01", "40"}, {"2020-04-01", "80"}, {"2020-04-15", "90"}}));
  CHECK(fast.severity == engine::Severity::high);
  CHECK(fast.doubling_time_days.value() < 90);
  // Fewer than 3 values, or a span under 56 days: no doubling time, so standard.
  auto two = only_alert(after_tace("20", {{"2020-03-01", "30"}, {"2020-03-15", "31"}}));
  CHECK_FALSE(two.doubling_time_days.has_value());
  CHECK(two.severity == engine::Severity::standard);
}

TEST_CASE("E8 flare guard: candidates 1-55 days after systemic_start are ignored, not forgotten") {
  ReplayRun run;
  run.milestones(ms("systemic_start", "2020-01-01"));
  run.results(rows({{"2019-12-20", "100"},
                    {"2020-01-11", "20"},   // day 10: nadir, guarded
                    {"2020-01-31", "40"},   // day 30: a candidate inside the window
                    {"2020-02-14", "42"},   // day 44: would confirm it
                    {"2020-02-25", "100"},  // day 55: last guarded day
                    {"2020-03-01", "45"},   // day 60: candidate against nadir 20
                    {"2020-03-15", "46"}}));
  auto a = only_alert(run);
  CHECK(format_day(a.event_day) == "2020-03-01");
  CHECK(a.nadir->value == 20);  // the guarded value still counts as nadir
  CHECK(run.notes("flare_guard").size() == 3);
  // Without systemic_start (tace), the day-30 candidate fires.
  ReplayRun tace;
  tace.milestones(ms("tace", "2020-01-01"));
  tace.results(rows(
      {{"2019-12-20", "100"}, {"2020-01-11", "20"}, {"2020-01-31", "40"}, {"2020-02-14", "42"}}));
  CHECK(format_day(only_alert(tace).event_day) == "2020-01-31");
}

TEST_CASE("E8 VKA: PIVKA-II firings are suppressed while a VKA is active, up to 30 days after") {
  auto run_with = [](const std::string& milestones) {
    ReplayRun run;
    run.milestones(ms("tace", "2020-01-01") + milestones);
    // Baseline 100, nadir 30, then 80 and 90: R_RISE (>= 50, +20) and R_RENORM (>= 80).
    run.results(rows({{"2019-12-20", "100", "PIVKA-II", "mAU/mL"},
                      {"2020-02-01", "30", "PIVKA-II", "mAU/mL"},
                      {"2020-03-01", "80", "PIVKA-II", "mAU/mL"},
                      {"2020-03-15", "90", "PIVKA-II", "mAU/mL"}}));
    return run;
  };
  // Stopped 30 days before the candidate: still active, suppressed (one note per rule).
  auto thirty = run_with(ms("vka_start", "2019-06-01") + ms("vka_stop", "2020-01-31"));
  CHECK(thirty.news().empty());
  CHECK(thirty.of_type(EventType::suppressed).size() == 2);
  // Stopped 31 days before: inactive, the alert opens.
  auto thirty_one = run_with(ms("vka_start", "2019-06-01") + ms("vka_stop", "2020-01-30"));
  CHECK(rules_of(only_alert(thirty_one)) == "R_RISE,R_RENORM");
  // The start's end_date stops it too; an open-ended start suppresses.
  CHECK(run_with(ms("vka_start", "2019-06-01", "2020-01-30")).news().size() == 1);
  CHECK(run_with(ms("vka_start", "2019-06-01")).news().empty());
  CHECK(run_with("").news().size() == 1);
  // The suppressor is PIVKA-II's: AFP with the same VKA fires.
  ReplayRun afp;
  afp.milestones(ms("tace", "2020-01-01") + ms("vka_start", "2019-06-01"));
  afp.results(rows(
      {{"2019-12-20", "100"}, {"2020-02-01", "20"}, {"2020-03-01", "30"}, {"2020-03-15", "30"}}));
  CHECK(afp.news().size() == 1);
}

TEST_CASE("PIVKA-II in ng/mL is its own method group and is not evaluated") {
  ReplayRun run;
  run.milestones(ms("tace", "2020-01-01"));
  run.results(rows({{"2019-12-20", "100", "PIVKA-II", "ng/mL"},
                    {"2020-02-01", "30", "PIVKA-II", "ng/mL"},
                    {"2020-03-01", "80", "PIVKA-II", "ng/mL"},
                    {"2020-03-15", "90", "PIVKA-II", "ng/mL"}}));
  CHECK(run.events.empty());
}

TEST_CASE("E1: a new method group re-baselines and never shares the nadir") {
  ReplayRun run;
  run.milestones(ms("tace", "2020-01-01"));
  Row a1{"2020-02-01", "8"}, b1{"2020-03-01", "30"}, b2{"2020-03-15", "31"};
  a1.method = "Abbott";
  b1.method = b2.method = "Roche";
  run.results(rows({a1, b1, b2}));
  CHECK(run.news().empty());  // with a shared nadir of 8, 30 would fire
  REQUIRE(run.notes("method_change").size() == 1);
  CHECK(run.notes("method_change")[0].method == "Roche");
}

TEST_CASE("E3: preliminary values are not evaluated until final") {
  auto run = after_tace(
      "20", {{"2020-03-01", "30"}, {"2020-03-15", "30", "AFP", "ng/mL", "preliminary", "obs-9"}});
  CHECK(run.news().empty());
  run.results(rows({{"2020-03-15", "30", "AFP", "ng/mL", "final", "obs-9"}}));
  CHECK(run.news().size() == 1);
}

TEST_CASE("E3: a final then entered-in-error retracts the alert it made") {
  auto run = after_tace(
      "20", {{"2020-03-01", "30"}, {"2020-03-15", "30", "AFP", "ng/mL", "final", "obs-9"}});
  REQUIRE(run.news().size() == 1);
  run.results(rows({{"2020-03-15", "30", "AFP", "ng/mL", "entered-in-error", "obs-9"}}));
  auto retracts = run.of_type(EventType::retract);
  REQUIRE(retracts.size() == 1);
  CHECK(retracts[0].alert_id == run.news()[0].alert_id);
  CHECK(run.live_alerts().empty());
  // A later value that fires again opens a NEW alert with a new id (the retracted one stays
  // closed).
  run.results(rows({{"2020-03-20", "32"}}));
  REQUIRE(run.news().size() == 2);
  CHECK(run.news()[1].alert_id != run.news()[0].alert_id);
}

TEST_CASE("E3: a correction that arrives before its original wins over it") {
  ReplayRun run;
  run.milestones(ms("tace", "2020-01-01"));
  run.results(rows({{"2019-12-20", "100"},
                    {"2020-02-01", "20"},
                    {"2020-03-01", "30"},
                    {"2020-03-15", "30", "AFP", "ng/mL", "corrected", "obs-9"}}));
  REQUIRE(run.news().size() == 1);
  run.results(rows({{"2020-03-15", "5", "AFP", "ng/mL", "final", "obs-9"}}));
  CHECK(run.of_type(EventType::retract).empty());  // the late final never undoes the correction
  CHECK(only_alert(run).confirmer->value == 30);
}

TEST_CASE(
    "Late arrivals: one that completes a confirmation creates the alert then; one that "
    "moves its dates is an UPDATE of the same alert") {
  auto run = after_tace("20", {{"2020-03-01", "30"}});
  CHECK(run.news().empty());
  run.results(rows({{"2020-03-20", "30"}}));
  REQUIRE(run.news().size() == 1);
  CHECK(format_day(run.news()[0].alert->fire_day) == "2020-03-20");
  run.results(rows({{"2020-03-15", "31"}}));
  auto updates = run.of_type(EventType::update);
  REQUIRE(updates.size() == 1);
  CHECK(updates[0].alert_id == run.news()[0].alert_id);
  CHECK(format_day(updates[0].alert->fire_day) == "2020-03-15");
  CHECK(run.news().size() == 1);
  // A duplicate row changes nothing and emits nothing.
  const auto before = run.events.size();
  run.results(rows({{"2020-03-15", "31"}}));
  CHECK(run.events.size() == before);
}

TEST_CASE("E9: NEW, RESOLVE after two normal values, then a second NEW in the same episode") {
  auto run = after_tace("8", {{"2020-03-01", "30"},
                              {"2020-03-15", "30"},
                              {"2020-04-01", "5"},
                              {"2020-05-01", "6"},
                              {"2020-06-01", "30"},
                              {"2020-06-15", "32"}});
  auto news = run.news();
  REQUIRE(news.size() == 2);
  CHECK(news[0].alert->identity.arm == 0);
  CHECK(news[1].alert->identity.arm == 1);
  CHECK(format_day(news[1].alert->event_day) == "2020-06-01");
  auto resolves = run.of_type(EventType::resolve);
  REQUIRE(resolves.size() == 1);
  CHECK(resolves[0].alert_id == news[0].alert_id);
  CHECK(format_day(resolves[0].alert->resolved_day.value()) == "2020-05-01");
  // One normal value is not enough.
  auto once = after_tace(
      "8", {{"2020-03-01", "30"}, {"2020-03-15", "30"}, {"2020-04-01", "5"}, {"2020-05-01", "12"}});
  CHECK(once.of_type(EventType::resolve).empty());
}

TEST_CASE("E9: an evaluation that opens and resolves an alert emits NEW then RESOLVE") {
  ReplayRun run;
  run.milestones(ms("tace", "2020-01-01"));
  run.results(rows({{"2019-12-20", "100"},
                    {"2020-02-01", "8"},
                    {"2020-03-01", "30"},
                    {"2020-04-01", "5"},
                    {"2020-05-01", "6"}}));
  CHECK(run.news().empty());
  run.results(rows({{"2020-03-15", "30"}}));
  REQUIRE(run.events.size() >= 2);
  CHECK(run.events[run.events.size() - 2].event.type == EventType::new_alert);
  CHECK(run.events.back().event.type == EventType::resolve);
}

TEST_CASE("Rule configuration changes the outcome and bad rule keys fail with key and line") {
  auto s = settings_from(
      "[ingest]\ndefault_timezone = \"UTC\"\n[markers.AFP]\nrise = { pct = 100, abs = 5 }\n");
  ReplayRun run(s);
  run.milestones(ms("tace", "2020-01-01"));
  run.results(rows(
      {{"2019-12-20", "100"}, {"2020-02-01", "20"}, {"2020-03-01", "30"}, {"2020-03-15", "30"}}));
  CHECK(run.news().empty());  // 30 is +50%, below the configured 100%
  CHECK(s.rules.marker("AFP").base.rise->confirm_days == 14);  // unchanged keys keep defaults
  auto off = settings_from("[markers.AFP]\nrise = \"off\"\nrenorm = \"off\"\n");
  CHECK_FALSE(off.rules.marker("AFP").base.rise.has_value());
}

TEST_CASE("E8: a value inside the flare window still confirms a firing that is not guarded") {
  // Only progression candidates are guarded. With a 120-day window after a same-day
  // systemic_start + resection (curative, B 1000): Dmax = 93 d, so day 94 (50) is an R_NONORM
  // candidate, and day 108 (40), inside the window, confirms it.
  auto s = settings_from(
      "[ingest]\ndefault_timezone = \"UTC\"\n[markers.AFP]\nflare_guard_days = 120\n");
  ReplayRun run(s);
  run.milestones(ms("systemic_start", "2020-01-01") + ms("resection", "2020-01-01"));
  run.results(rows(
      {{"2019-12-25", "1000"}, {"2020-01-31", "400"}, {"2020-04-04", "50"}, {"2020-04-18", "40"}}));
  auto a = only_alert(run);
  CHECK(rules_of(a) == "R_NONORM");
  CHECK(format_day(a.fire_day) == "2020-04-18");
}

TEST_CASE("A person's resolution is never reopened by data; changes are recorded as UPDATEs") {
  auto run = after_tace("8", {{"2020-03-01", "30"}, {"2020-03-15", "30"}});
  engine::Alert a = only_alert(run);
  engine::TrackedAlert resolved{1, a, engine::AlertState::resolved, true};
  engine::Evaluation same{{a}, {}};
  auto never = [](const std::string&) { return false; };
  CHECK(engine::reconcile({resolved}, same, never).empty());
  engine::Alert later = a;
  later.later_firings.push_back({Rule::rise, day("2020-04-01"), day("2020-04-15"), {}});
  auto events = engine::reconcile({resolved}, engine::Evaluation{{later}, {}}, never);
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == EventType::update);
  CHECK(events[0].state == engine::AlertState::resolved);
  // Resolved by the data instead, the same change reopens it.
  resolved.resolved_by_person = false;
  events = engine::reconcile({resolved}, engine::Evaluation{{later}, {}}, never);
  REQUIRE(events.size() == 1);
  CHECK(events[0].state == engine::AlertState::open);
}
