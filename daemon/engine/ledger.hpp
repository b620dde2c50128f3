#pragma once
// A patient history held in memory for replay: every version of every result with RULES.md E3
// applied on arrival (the same admit_version the database uses), and the milestones.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/records.hpp"
#include "core/version_resolution.hpp"
#include "engine/history.hpp"

namespace markerwatch::engine {

Milestone to_milestone(const MilestoneRecord& m);

// One patient's history as rows arrive (replay keeps one per patient).
class PatientLedger {
 public:
  // False when the row repeats a version already received. Throws InputError (E3 ambiguity).
  bool add_result(const ResultRecord& r);
  // False when the same milestone (kind, date, markers) is already known.
  bool add_milestone(const MilestoneRecord& m);
  // The effective, countable values and the milestones, kept up to date on every add.
  const PatientHistory& history() const { return history_; }

 private:
  // What a version gives the engine when it counts; marker, method, day and obs_id are the
  // group's and the version's own (a replay holds millions: one copy of each).
  struct Reading {
    double value = 0.0;
    Comparator comparator = Comparator::none;
    std::optional<double> own_uln;
    std::string unit;
  };
  struct VersionState {
    std::optional<Reading> reading;  // nullopt: no value, or a status that does not count
    bool effective = false;          // E3: carries the current value of its observation
  };
  // Every version received for one series on one collection date, in arrival order.
  struct Group {
    std::vector<VersionContent> versions;  // as admit_version takes them
    std::vector<VersionState> states;      // one per version
  };
  // Keyed by the collection date as written, marker and method (the date first: it tells most
  // groups apart at the first comparison); looked up without building a key.
  std::map<std::tuple<std::string, std::string, std::string>, Group, std::less<>> groups_;
  std::set<std::tuple<std::string, int, std::vector<std::string>>> milestone_keys_;
  PatientHistory history_;
  std::int64_t next_row_ = 1;  // arrival order within the patient
};

}  // namespace markerwatch::engine
