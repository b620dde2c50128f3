// evaluate() with a patient's EvaluationCache finds what it finds without one, also after the
// milestones, the configuration or the values changed between two evaluations, and whether or not
// the notes it found were logged (replay keeps one cache per patient across its rows).
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

#include "core/calendar.hpp"
#include "engine/evaluate.hpp"
#include "engine/reconcile.hpp"
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

// A random history, one change at a time: values of two markers (censored ones, own reference
// limits, same-day values, arrivals out of date order, a second method group), values corrected
// or removed, and milestones (anchors, curative ones, a systemic start, a VKA period) added along
// the way.
class RandomPatient {
 public:
  explicit RandomPatient(unsigned seed) : random_(seed) {}

  // One change to `h`; returns the markers it touched (empty: every marker).
  std::vector<std::string> change(engine::PatientHistory& h) {
    const auto roll = pick(0, 99);
    if (roll < 8) {
      static const std::vector<std::string> kinds = {
          "resection", "tace", "systemic_start", "ablation", "vka_start", "vka_stop", "imaging"};
      engine::Milestone m;
      m.kind = kinds[static_cast<std::size_t>(pick(0, static_cast<int>(kinds.size()) - 1))];
      m.day = start_ + pick(0, 900);
      if (pick(0, 3) == 0) m.markers = {pick(0, 1) ? "AFP" : "PIVKA-II"};
      h.milestones.push_back(m);
      return {};
    }
    if (roll < 16 && !h.values.empty()) {
      auto& v = h.values[static_cast<std::size_t>(pick(0, static_cast<int>(h.values.size()) - 1))];
      const auto marker = v.marker;
      if (pick(0, 1)) {
        v.value = level();  // a correction
      } else {
        h.values.erase(h.values.begin() + (&v - h.values.data()));  // a deletion
      }
      return {marker};
    }
    const bool afp = pick(0, 3) != 0;
    engine::Value v;
    v.marker = afp ? "AFP" : "PIVKA-II";
    v.unit = afp ? "ng/mL" : "mAU/mL";
    if (afp && pick(0, 7) == 0) v.method = "other-assay";  // a second series of the marker (E1)
    // Mostly later than the values before, sometimes late, sometimes the same day.
    const int last = h.values.empty() ? start_ : h.values.back().day;
    v.day = pick(0, 5) == 0 ? start_ + pick(0, 900) : last + pick(0, 45);
    v.value = level();
    const auto censor = pick(0, 19);
    if (censor == 0) v.comparator = Comparator::less;
    if (censor == 1) v.comparator = Comparator::greater;
    if (pick(0, 9) == 0) v.own_uln = pick(0, 1) ? 10.0 : 40.0;
    v.obs_id = "o" + std::to_string(next_obs_++);
    h.values.push_back(v);
    return {v.marker};
  }
  bool coin(int one_in) { return pick(0, one_in - 1) == 0; }

 private:
  int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
  double level() {
    // Around the limits and far above them, so that rules fire, resolve and fire again.
    static const std::vector<double> levels = {1,   5,   8,    12,   20,   35,   60,
                                               120, 400, 1000, 2500, 8000, 35000};
    return levels[static_cast<std::size_t>(pick(0, static_cast<int>(levels.size()) - 1))] *
           (0.9 + pick(0, 20) / 100.0);
  }
  std::mt19937 random_;
  const int start_ = day_number("2020-01-01").value();
  int next_obs_ = 1;
};

}  // namespace

TEST_CASE("a patient's evaluation cache gives fresh evaluations, change after change") {
  const auto s = test::utc_settings();
  const auto config = settings::engine_config(s);
  std::size_t alerts_seen = 0, notes_seen = 0, evaluations = 0;
  for (unsigned seed = 1; seed <= 150; ++seed) {
    RandomPatient patient(seed);
    engine::PatientHistory h;
    h.patient = "p" + std::to_string(seed);
    engine::EvaluationCache cache;
    engine::PatientAlerts alert_log;
    std::int64_t next_id = 1;
    const engine::NoteLogged logged = [&alert_log](const std::string& key) {
      return alert_log.note_logged(key);
    };
    for (int step = 0; step < 60; ++step) {
      const auto scope = patient.change(h);
      const auto fresh = engine::evaluate(h, config, scope, logged);
      const auto cached = engine::evaluate(h, config, scope, logged, &cache);
      ++evaluations;
      INFO("seed " << seed << ", step " << step);
      REQUIRE(cached.alerts == fresh.alerts);
      REQUIRE(note_keys(cached) == note_keys(fresh));
      alerts_seen += fresh.alerts.size();
      notes_seen += fresh.notes.size();
      // As replay does, the notes found go into the log; now and then they do not (a caller that
      // failed between evaluating and logging), and the cache must not count on them.
      if (patient.coin(10)) continue;
      auto events = engine::reconcile(alert_log.live(scope), cached, logged);
      alert_log.apply(events, next_id);
    }
  }
  // The histories are such that rules fire and notes are found.
  CHECK(alerts_seen > evaluations);
  CHECK(notes_seen > 100);
}

TEST_CASE("an evaluation cache used without a log of notes finds every note every time") {
  const auto s = test::utc_settings();
  const auto config = settings::engine_config(s);
  engine::EvaluationCache cache;
  const auto h = history();
  const auto first = engine::evaluate(h, config, {}, {}, &cache);
  REQUIRE_FALSE(first.notes.empty());
  require_same(engine::evaluate(h, config, {}, {}, &cache), engine::evaluate(h, config));
  require_same(engine::evaluate(h, config, {}, {}, &cache), first);
}

TEST_CASE("an evaluation cache gives the evaluation that fresh milestones give") {
  const auto s = test::utc_settings();
  const auto config = settings::engine_config(s);
  engine::EvaluationCache cache;
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
