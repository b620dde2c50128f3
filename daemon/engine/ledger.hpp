#pragma once
// Patient histories held in memory for replay: every version of every result with RULES.md E3
// applied on arrival (the same admit_version the database uses), and the milestones.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/records.hpp"
#include "core/version_resolution.hpp"
#include "engine/history.hpp"

namespace markerwatch::engine {

// The engine's view of a stored result: nullopt when it carries no value or does not count.
std::optional<Value> to_value(const ResultRecord& r);
Milestone to_milestone(const MilestoneRecord& m);
// "id" or "id^authority": one string per patient identity.
std::string patient_key(const PatientKey& p);

class HistoryLedger {
 public:
  // False when the row repeats a version already received. Throws InputError (E3 ambiguity).
  bool add_result(const ResultRecord& r);
  // False when the same milestone (kind, date, markers) is already known.
  bool add_milestone(const MilestoneRecord& m);
  // The patient's effective, countable values and milestones, kept up to date on every add.
  const PatientHistory& history(const std::string& patient_key) const;

 private:
  struct Version {
    VersionContent content;
    std::optional<Value> value;
  };
  struct Group {
    std::vector<Version> versions;
    std::vector<std::int64_t> effective_rows;
  };
  struct Patient {
    std::map<std::tuple<std::string, std::string, std::string>, Group> groups;
    std::set<std::tuple<std::string, int, std::vector<std::string>>> milestone_keys;
    PatientHistory history;  // the effective values of every group, and the milestones
  };
  std::unordered_map<std::string, Patient> patients_;
  std::int64_t next_row_ = 1;
};

}  // namespace markerwatch::engine
