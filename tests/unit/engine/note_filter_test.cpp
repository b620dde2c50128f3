// evaluate() leaves out the notes the alert log already holds (it is told through `logged`), and
// nothing else changes: the alerts are the same and the other notes are still built.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "core/calendar.hpp"
#include "engine/evaluate.hpp"
#include "settings/settings.hpp"
#include "test_support.hpp"

using namespace markerwatch;

namespace {

engine::Value afp(const std::string& date, double v) {
  return {"AFP", "", day_number(date).value(), v, Comparator::none, "ng/mL", std::nullopt, ""};
}

// A resection with baseline 1000, a slow fall (A_HL; also R_NODECLINE: 800 on day 51 is above half
// the baseline), a response (A_RESP), then a confirmed rise from the nadir 300 across 400 (R_RISE
// and R_ABS): two notes and two alerts.
engine::PatientHistory history() {
  engine::PatientHistory h;
  h.patient = "p1";
  h.milestones.push_back({"resection", day_number("2020-01-10").value(), std::nullopt, {}});
  for (auto [date, value] : std::vector<std::pair<std::string, double>>{{"2020-01-05", 1000},
                                                                        {"2020-03-01", 800},
                                                                        {"2020-05-01", 300},
                                                                        {"2020-07-01", 600},
                                                                        {"2020-08-01", 700}})
    h.values.push_back(afp(date, value));
  return h;
}

}  // namespace

TEST_CASE("notes already logged are left out of an evaluation, and only those") {
  const auto s = test::utc_settings();
  const auto config = settings::engine_config(s);
  const auto all = engine::evaluate(history(), config);
  REQUIRE(all.alerts.size() == 2);
  CHECK(all.alerts[0].rules ==
        std::vector<engine::Rule>{engine::Rule::rise, engine::Rule::absolute});
  CHECK(all.alerts[1].rules == std::vector<engine::Rule>{engine::Rule::nodecline});
  std::set<std::string> codes;
  for (const auto& n : all.notes) codes.insert(n.code);
  REQUIRE(codes == std::set<std::string>{"response", "slow_decline"});

  std::string response_key;
  for (const auto& n : all.notes)
    if (n.code == "response") response_key = n.key;
  std::vector<std::string> asked;
  const engine::NoteLogged logged = [&](const std::string& key) {
    asked.push_back(key);
    return key == response_key;
  };
  const auto filtered = engine::evaluate(history(), config, {}, logged);
  CHECK(filtered.alerts == all.alerts);
  REQUIRE(filtered.notes.size() == all.notes.size() - 1);
  for (const auto& n : filtered.notes) CHECK(n.code == "slow_decline");
  // Every note of the evaluation was asked about, with the key it carries when built.
  CHECK(asked.size() == all.notes.size());
  CHECK(std::find(asked.begin(), asked.end(), response_key) != asked.end());

  const auto none =
      engine::evaluate(history(), config, {}, [](const std::string&) { return true; });
  CHECK(none.notes.empty());
  CHECK(none.alerts == all.alerts);
}

TEST_CASE("an evaluation holds each note key once, also for same-day values of one finding") {
  // The alert log keeps a note key once (a unique index): an evaluation that built the same
  // finding twice made the whole transaction fail, e.g. when a milestone arrived after the values.
  const auto s = test::utc_settings();
  const auto config = settings::engine_config(s);
  // One series (dated values, obs ids v1, v2, ...) after one milestone.
  auto history = [](const std::string& kind, const std::string& on, const std::string& marker,
                    const std::string& unit,
                    const std::vector<std::pair<std::string, double>>& values) {
    engine::PatientHistory h;
    h.patient = "p1";
    h.milestones.push_back({kind, day_number(on).value(), {}, {}});
    for (const auto& [date, v] : values)
      h.values.push_back({marker, "", day_number(date).value(), v, Comparator::none, unit,
                          std::nullopt, "v" + std::to_string(h.values.size() + 1)});
    return h;
  };
  auto keys_unique = [](const engine::Evaluation& e) {
    std::set<std::string> keys;
    for (const auto& n : e.notes) keys.insert(n.key);
    return keys.size() == e.notes.size();
  };
  auto count = [](const engine::Evaluation& e, const std::string& code) {
    return std::count_if(e.notes.begin(), e.notes.end(),
                         [&](const engine::Note& n) { return n.code == code; });
  };

  // Two equal AFP values on one day inside the flare window of a systemic therapy.
  const auto guarded = engine::evaluate(history("systemic_start", "2020-02-20", "AFP", "ng/mL",
                                                {{"2020-01-01", 400},
                                                 {"2020-01-20", 100},
                                                 {"2020-02-10", 50},
                                                 {"2020-03-05", 300},
                                                 {"2020-03-05", 300}}),
                                        config);
  CHECK(count(guarded, "flare_guard") == 1);
  CHECK(keys_unique(guarded));

  // Two PIVKA-II candidates on one day confirmed by the same value while a VKA is active: one
  // suppressed firing per rule (R_RISE from the nadir 30, R_RENORM at twice the ULN 40).
  const auto vka = history("vka_start", "2019-06-01", "PIVKA-II", "mAU/mL",
                           {{"2019-12-20", 100},
                            {"2020-02-01", 30},
                            {"2020-03-01", 80},
                            {"2020-03-01", 85},
                            {"2020-03-15", 90}});
  const auto suppressed = engine::evaluate(vka, config);
  CHECK(suppressed.alerts.empty());
  CHECK(count(suppressed, "vka_active") == 2);
  CHECK(keys_unique(suppressed));
  // The note kept is the first in value order (80, the lower of the two).
  std::set<engine::Rule> rules;
  for (const auto& n : suppressed.notes)
    if (n.code == "vka_active") {
      rules.insert(*n.rule);
      CHECK(n.value->value == 80);
    }
  CHECK(rules == std::set<engine::Rule>{engine::Rule::rise, engine::Rule::renorm});
}
