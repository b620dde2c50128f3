// evaluate() with a patient's MilestoneCache finds what it finds without one, also after the
// milestones or the configuration changed between two evaluations (replay keeps one cache per
// patient across its rows).
#include <catch2/catch.hpp>

#include "core/calendar.hpp"
#include "engine/evaluate.hpp"
#include "settings/settings.hpp"
#include "test_support.hpp"

using namespace markerwatch;

namespace {

engine::Value value(const std::string& marker, const std::string& unit, const std::string& date,
                    double v) {
  return {marker, "", day_number(date).value(), v, Comparator::none, unit, std::nullopt, ""};
}

engine::Milestone milestone(const std::string& kind, const std::string& date,
                            std::vector<std::string> markers = {}) {
  return {kind, day_number(date).value(), std::nullopt, std::move(markers)};
}

// AFP falls after a resection and rises again; PIVKA-II rises once. Each evaluation's alerts and
// notes tell which anchors it saw.
engine::PatientHistory history() {
  engine::PatientHistory h;
  h.patient = "p1";
  h.milestones.push_back(milestone("resection", "2020-01-10"));
  for (auto [date, v] : std::vector<std::pair<std::string, double>>{{"2020-01-05", 1000},
                                                                    {"2020-03-01", 800},
                                                                    {"2020-05-01", 300},
                                                                    {"2020-07-01", 600},
                                                                    {"2020-08-01", 700}})
    h.values.push_back(value("AFP", "ng/mL", date, v));
  for (auto [date, v] : std::vector<std::pair<std::string, double>>{
           {"2020-02-01", 20}, {"2020-06-01", 90}, {"2020-07-01", 120}})
    h.values.push_back(value("PIVKA-II", "mAU/mL", date, v));
  return h;
}

std::vector<std::string> note_keys(const engine::Evaluation& e) {
  std::vector<std::string> keys;
  for (const auto& n : e.notes) keys.push_back(n.key);
  return keys;
}

void require_same(const engine::Evaluation& cached, const engine::Evaluation& fresh) {
  CHECK(cached.alerts == fresh.alerts);
  CHECK(note_keys(cached) == note_keys(fresh));
}

}  // namespace

TEST_CASE("a milestone cache gives the evaluation that fresh milestones give") {
  const auto s = test::utc_settings();
  const auto config = settings::engine_config(s);
  engine::MilestoneCache cache;
  auto h = history();
  const auto first = engine::evaluate(h, config, {}, {}, &cache);
  require_same(first, engine::evaluate(h, config));
  REQUIRE_FALSE(first.alerts.empty());

  SECTION("a milestone added since") {
    h.milestones.push_back(milestone("systemic_start", "2020-05-15"));
    const auto fresh = engine::evaluate(h, config);
    REQUIRE(fresh.alerts != first.alerts);  // the case tells a stale cache
    require_same(engine::evaluate(h, config, {}, {}, &cache), fresh);
  }
  SECTION("a milestone moved to another day, with as many as before") {
    h.milestones.front().day = day_number("2020-04-01").value();
    const auto fresh = engine::evaluate(h, config);
    REQUIRE(fresh.alerts != first.alerts);
    require_same(engine::evaluate(h, config, {}, {}, &cache), fresh);
  }
  SECTION("a milestone narrowed to one marker") {
    h.milestones.front().markers = {"PIVKA-II"};
    const auto fresh = engine::evaluate(h, config);
    REQUIRE(fresh.alerts != first.alerts);
    require_same(engine::evaluate(h, config, {}, {}, &cache), fresh);
  }
  SECTION("another configuration") {
    auto other = test::utc_settings();
    other.rules.marker_mutable("AFP").base.rise.reset();
    other.rules.marker_mutable("AFP").base.absolute.reset();
    for (auto& [kind, params] : other.rules.marker_mutable("AFP").profiles) {
      params.rise.reset();
      params.absolute.reset();
    }
    const auto other_config = settings::engine_config(other);
    const auto fresh = engine::evaluate(h, other_config);
    REQUIRE(fresh.alerts != first.alerts);
    require_same(engine::evaluate(h, other_config, {}, {}, &cache), fresh);
  }
  SECTION("one marker, then the other, then both") {
    for (const auto& scope : std::vector<std::vector<std::string>>{{"PIVKA-II"}, {"AFP"}, {}})
      require_same(engine::evaluate(h, config, scope, {}, &cache),
                   engine::evaluate(h, config, scope));
  }
}
