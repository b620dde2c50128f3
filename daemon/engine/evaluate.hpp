#pragma once
// The trend engine (RULES.md §2-§6): a pure function from one patient's history to the alerts and
// notes that history implies. No I/O, no clock: the same data always gives the same outcome.
#include <string>
#include <vector>

#include "core/markers.hpp"
#include "core/milestone_kinds.hpp"
#include "engine/alert.hpp"
#include "engine/history.hpp"
#include "engine/rule_book.hpp"

namespace markerwatch::engine {

struct EngineConfig {
  const MarkerCatalog* markers = nullptr;
  const RuleBook* rules = nullptr;
  const MilestoneKinds* kinds = nullptr;
};

// Evaluates the series of the markers in `scope` (every marker when empty). Values of markers the
// catalogue does not know, and values in another assay family's unit, are not evaluated.
Evaluation evaluate(const PatientHistory& history, const EngineConfig& config,
                    const std::vector<std::string>& scope = {});

}  // namespace markerwatch::engine
