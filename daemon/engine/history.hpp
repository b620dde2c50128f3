#pragma once
// What the engine evaluates: one patient's effective, countable values and milestones. Version
// resolution (RULES.md E3) happens before; the engine sees only values that count.
#include <optional>
#include <string>
#include <vector>

#include "core/numeric_value.hpp"

namespace markerwatch::engine {

struct Value {
  std::string marker;  // canonical name
  std::string method;  // method group ("" when none)
  int day = 0;         // collection date as a day number
  double value = 0.0;  // in `unit`
  Comparator comparator = Comparator::none;
  std::string unit;
  std::optional<double> own_uln;  // from the result's reference range, in `unit`
  std::string obs_id;
};

struct Milestone {
  std::string kind;
  int day = 0;
  std::optional<int> end_day;
  std::vector<std::string> markers;  // empty: every marker
  bool operator==(const Milestone&) const = default;
};

struct PatientHistory {
  std::string patient;
  std::vector<Value> values;
  std::vector<Milestone> milestones;
};

}  // namespace markerwatch::engine
