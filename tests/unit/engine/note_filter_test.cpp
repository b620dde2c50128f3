// evaluate() leaves out the notes the alert log already holds (it is told through `logged`), and
// nothing else changes: the alerts are the same and the other notes are still built.
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
