#pragma once
// The trend engine (RULES.md §2-§6): a pure function from one patient's history to the alerts and
// notes that history implies. No I/O, no clock: the same data always gives the same outcome.
#include <functional>
#include <string>
#include <vector>

#include "core/markers.hpp"
#include "core/milestone_kinds.hpp"
#include "engine/alert.hpp"
#include "engine/anchors.hpp"
#include "engine/evaluation_cache.hpp"
#include "engine/history.hpp"
#include "engine/rule_book.hpp"

namespace markerwatch::engine {

struct EngineConfig {
  const MarkerCatalog* markers = nullptr;
  const RuleBook* rules = nullptr;
  const MilestoneKinds* kinds = nullptr;
};

// Whether a note (by its key) is already in the alert log.
using NoteLogged = std::function<bool(const std::string& key)>;

// Evaluates the series of the markers in `scope` (every marker when empty). Values of markers the
// catalogue does not know, and values in another assay family's unit, are not evaluated. Notes
// that `logged` says are in the log already are left out (reconcile would drop them; most
// evaluations find the same notes again; `logged` must only ever say yes to more keys, as a log
// does). `cache`: the patient's, kept between its evaluations (the outcome is the same; without
// one, everything is worked out afresh).
Evaluation evaluate(const PatientHistory& history, const EngineConfig& config,
                    const std::vector<std::string>& scope = {}, const NoteLogged& logged = {},
                    EvaluationCache* cache = nullptr);

}  // namespace markerwatch::engine
