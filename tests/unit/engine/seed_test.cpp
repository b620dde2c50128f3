// The seed case (shared/seed/expected-alerts.md): exactly three NEW alerts, in file order and in
// 200 random arrival orders of the results.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <sstream>

#include "engine/alert_json.hpp"
#include "engine_support.hpp"

using namespace markerwatch;
using namespace markerwatch::test;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

struct Expected {
  std::string cls, rules, event_date, fire_date, severity;
};

const std::vector<Expected> kSeedAlerts = {
    {"progression", "R_RISE,R_RENORM", "2013-07-10", "2013-10-02", "high"},
    {"progression", "R_RISE", "2015-06-10", "2015-09-09", "high"},
    {"residual", "R_NODECLINE", "2016-12-15", "2016-12-15", "high"},
};

void check_seed_alerts(const std::vector<engine::Alert>& alerts) {
  REQUIRE(alerts.size() == kSeedAlerts.size());
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    INFO("alert " << i + 1 << ": " << alerts[i].summary);
    CHECK(alerts[i].identity.marker == "AFP");
    CHECK(std::string(engine::to_string(alerts[i].identity.cls)) == kSeedAlerts[i].cls);
    CHECK(rules_of(alerts[i]) == kSeedAlerts[i].rules);
    CHECK(format_day(alerts[i].event_day) == kSeedAlerts[i].event_date);
    CHECK(format_day(alerts[i].fire_day) == kSeedAlerts[i].fire_date);
    CHECK(std::string(engine::to_string(alerts[i].severity)) == kSeedAlerts[i].severity);
  }
}

std::vector<engine::Alert> sorted_by_event(std::vector<engine::Alert> alerts) {
  std::sort(alerts.begin(), alerts.end(),
            [](const auto& a, const auto& b) { return a.event_day < b.event_day; });
  return alerts;
}

ReplayRun replay_seed(const std::vector<std::string>& result_lines) {
  ReplayRun run;
  const auto milestones = read_file(shared_dir() / "seed/milestones.csv");
  run.replayer.feed_csv(milestones, "milestones.csv");
  std::string results = "patient_id,marker,collected_at,value,unit\n";
  for (const auto& l : result_lines) results += l + "\n";
  run.replayer.feed_csv(results, "results.csv");
  REQUIRE(run.replayer.rejections().empty());
  return run;
}

}  // namespace

TEST_CASE("seed case: exactly the three expected NEW alerts, in file order") {
  auto lines = lines_of(read_file(shared_dir() / "seed/results.csv"));
  lines.erase(lines.begin());
  auto run = replay_seed(lines);
  std::vector<engine::Alert> news;
  for (const auto& e : run.news()) news.push_back(*e.alert);
  check_seed_alerts(sorted_by_event(news));
  CHECK(run.of_type(engine::EventType::retract).empty());
  CHECK(run.of_type(engine::EventType::suppressed).empty());

  // The summary a clinician reads for alert 1 (RULES.md §7's example, with the absolute change).
  CHECK(news[0].summary ==
        "AFP rising after metastasectomy (2012-04-10): 29.37 ng/mL on 2013-07-10 is +332% "
        "(+22.57 ng/mL) above the nadir 6.8 (2012-07-11), confirmed by 340 on 2013-10-02; "
        "doubling time 56 d [R_RISE, R_RENORM]");
  // Alert 2 keeps qualifying (R_RENORM from 190, R_ABS from 1,150): later firings, not new alerts.
  const auto finals = run.final_alerts("case-001");
  REQUIRE(finals.size() == 3);
  const auto& second = finals[1].alert;
  CHECK(format_day(second.event_day) == "2015-06-10");
  auto has_later = [&](engine::Rule rule, const std::string& event_date) {
    return std::any_of(second.later_firings.begin(), second.later_firings.end(), [&](auto& f) {
      return f.rule == rule && format_day(f.event_day) == event_date;
    });
  };
  CHECK(has_later(engine::Rule::renorm, "2015-09-09"));
  CHECK(has_later(engine::Rule::absolute, "2016-03-09"));
  CHECK(second.rules == std::vector{engine::Rule::rise});
  // Every alert resolves once AFP is normal twice in a row.
  CHECK(format_day(finals[0].alert.resolved_day.value()) == "2014-07-16");
  CHECK(format_day(finals[1].alert.resolved_day.value()) == "2018-01-10");
  CHECK(format_day(finals[2].alert.resolved_day.value()) == "2018-01-10");
  for (const auto& f : finals) CHECK(f.state == engine::AlertState::resolved);
}

TEST_CASE("seed case: 200 random arrival orders give the same final alerts as file order") {
  auto lines = lines_of(read_file(shared_dir() / "seed/results.csv"));
  lines.erase(lines.begin());
  auto reference = replay_seed(lines).final_alerts("case-001");
  std::vector<engine::Alert> reference_alerts;
  for (auto& t : reference) reference_alerts.push_back(t.alert);
  check_seed_alerts(sorted_by_event(reference_alerts));

  std::mt19937 rng(20131002);
  for (int order = 0; order < 200; ++order) {
    std::shuffle(lines.begin(), lines.end(), rng);
    auto run = replay_seed(lines);
    std::vector<engine::Alert> live;
    INFO("order " << order);
    for (auto& t : run.final_alerts("case-001")) {
      if (t.state != engine::AlertState::retracted) live.push_back(t.alert);
      // The store keeps an alert as this text and reuses the alert it was written from while the
      // text is unchanged: the text must read back as that very alert.
      REQUIRE(engine::alert_from_json(engine::Json::parse(engine::alert_json_text(t.alert))) ==
              t.alert);
    }
    REQUIRE(sorted_by_event(live) == sorted_by_event(reference_alerts));
  }
}
