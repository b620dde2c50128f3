#pragma once
// What the engine works out from a patient's milestones alone, for one marker: its anchors
// (RULES.md E5, same-day anchors collapsed) with their rule parameters, and the periods of a
// vitamin-K antagonist (E8).
#include <string>
#include <vector>

#include "core/milestone_kinds.hpp"
#include "engine/alert.hpp"
#include "engine/history.hpp"
#include "engine/rule_book.hpp"

namespace markerwatch::engine {

struct AnchorGroup {
  Anchor anchor;
  std::vector<std::string> kinds;  // display order: the profile's kind, curative kinds, the rest
  const RuleParams* params = nullptr;  // the episode's profile (RuleBook::params_for)
  bool systemic = false;               // a systemic_start among the kinds (flare guard)
};

// E8: is a vitamin-K antagonist active on `day` for this marker?
class VkaCalendar {
 public:
  VkaCalendar(const PatientHistory& h, const std::string& marker);
  bool active(int day) const;

 private:
  std::vector<Milestone> starts_;
  std::vector<int> stops_;
};

struct MarkerMilestones {
  std::string marker;
  std::vector<AnchorGroup> anchors;         // in day order
  const RuleParams* base_params = nullptr;  // before the first anchor
  VkaCalendar vka;
};

MarkerMilestones marker_milestones(const PatientHistory& h, const std::string& marker,
                                   const MilestoneKinds& kinds, const RuleBook& rules);

}  // namespace markerwatch::engine
