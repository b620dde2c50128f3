#pragma once
// Building blocks for engine tests: histories written as compact rows, replay through the same
// Replayer the CLI uses, and the NEW alerts and final alert states it produced.
#include <map>
#include <string>
#include <vector>

#include "core/calendar.hpp"
#include "engine/alert_json.hpp"
#include "ingest/replay.hpp"
#include "test_support.hpp"

namespace markerwatch::test {

inline int day(const std::string& iso) {
  return day_number(iso).value();
}

// Replays CSV texts (milestones first, as the CLI does) and keeps every event.
struct ReplayRun {
  explicit ReplayRun(const settings::Settings& s = utc_settings())
      : settings(s),
        replayer(settings, [this](const ingest::ReplayedEvent& e) { events.push_back(e); }) {}

  ReplayRun& milestones(const std::string& rows) {
    replayer.feed_csv("patient_id,kind,date,end_date,markers\n" + rows, "milestones.csv");
    return *this;
  }
  ReplayRun& results(const std::string& rows) {
    replayer.feed_csv(
        "patient_id,marker,collected_at,value,unit,status,obs_id,method,reference_range\n" + rows,
        "results.csv");
    return *this;
  }

  std::vector<engine::Event> of_type(engine::EventType t) const {
    std::vector<engine::Event> out;
    for (const auto& e : events)
      if (e.event.type == t) out.push_back(e.event);
    return out;
  }
  std::vector<engine::Event> news() const { return of_type(engine::EventType::new_alert); }
  std::vector<engine::Note> notes(const std::string& code) const {
    std::vector<engine::Note> out;
    for (const auto& e : events)
      if (e.event.note && e.event.note->code == code) out.push_back(*e.event.note);
    return out;
  }
  // The alerts as they stand after every event (retracted ones included).
  std::vector<engine::TrackedAlert> final_alerts(const std::string& patient = "p1") const {
    return replayer.alerts_of(patient);
  }
  std::vector<engine::TrackedAlert> live_alerts(const std::string& patient = "p1") const {
    std::vector<engine::TrackedAlert> out;
    for (auto& a : final_alerts(patient))
      if (a.state != engine::AlertState::retracted) out.push_back(a);
    return out;
  }

  settings::Settings settings;
  std::vector<ingest::ReplayedEvent> events;
  ingest::Replayer replayer;
};

inline std::string rules_of(const engine::Alert& a) {
  return engine::join_rules(a.rules);
}

}  // namespace markerwatch::test

namespace markerwatch::test {

// One milestone row of patient p1 (columns patient_id,kind,date,end_date,markers).
inline std::string ms(const std::string& kind, const std::string& date,
                      const std::string& end_date = "", const std::string& markers = "") {
  return "p1," + kind + "," + date + "," + end_date + "," + markers + "\n";
}

// One result row of patient p1.
struct Row {
  Row(std::string d, std::string v, std::string m = "AFP", std::string u = "ng/mL",
      std::string st = "", std::string obs = "")
      : date(std::move(d)),
        value(std::move(v)),
        marker(std::move(m)),
        unit(std::move(u)),
        status(std::move(st)),
        obs_id(std::move(obs)) {}
  std::string date, value, marker, unit, status, obs_id, method, range;
};
inline std::string rows(const std::vector<Row>& list) {
  std::string out;
  for (const auto& r : list)
    out += "p1," + r.marker + "," + r.date + "," + r.value + "," + r.unit + "," + r.status + "," +
           r.obs_id + "," + r.method + "," + r.range + "\n";
  return out;
}

inline engine::Alert only_alert(const ReplayRun& run) {
  auto live = run.live_alerts();
  REQUIRE(live.size() == 1);
  return live.front().alert;
}

}  // namespace markerwatch::test
