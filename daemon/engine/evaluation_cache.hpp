#pragma once
// What one patient's evaluations can keep from one to the next. Replay evaluates a patient once per
// row, and a row changes one series in one episode: the milestones are those of the row before,
// and so are the other episodes' values. Each use checks that what is kept was worked out from the
// same milestones, configuration and values; the outcome is always that of a fresh evaluation.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/markers.hpp"
#include "core/milestone_kinds.hpp"
#include "core/numeric_value.hpp"
#include "engine/alert.hpp"
#include "engine/anchors.hpp"
#include "engine/history.hpp"
#include "engine/rule_book.hpp"

namespace markerwatch::engine {

struct EngineConfig;

// A rule's candidate that fires (RULES.md E7), with its confirmer: indices into the episode's
// values in value order.
struct Firing {
  Rule rule = Rule::rise;
  std::size_t candidate = 0;
  std::optional<std::size_t> confirmer;  // nullopt: fires on the candidate itself
  int event_day = 0, fire_day = 0;
  std::optional<DatedValue> nadir;
};

// One episode of one series as last evaluated: its firings follow from its values and its
// baseline alone (with the milestones and configuration), while its alerts' resolutions look at
// the whole series and are worked out again every time.
struct EpisodeMemo {
  // What the episode's evaluation reads of a value (its unit is the series' canonical one).
  struct Input {
    int day = 0;
    double value = 0.0;
    Comparator comparator = Comparator::none;
    std::optional<double> own_uln;
    bool operator==(const Input&) const = default;
  };
  bool valid = false;
  std::optional<Input> baseline;
  std::vector<Input> values;
  std::vector<Firing> firings;  // after the VKA suppressor
  // The notes the evaluation found that the log did not hold yet: once the log holds them, the
  // same values find no note that is not logged.
  std::vector<std::string> new_note_keys;
};

class EvaluationCache {
 public:
  // The marker's milestones worked out (E5, E8). Everything kept is let go first when the
  // milestones or the configuration are not those it was kept for. The configuration is known by
  // its address: a cache must not outlive it (replay keeps both as long as the Replayer).
  const MarkerMilestones& milestones(const PatientHistory& h, const std::string& marker,
                                     const EngineConfig& config);
  // The memos of a series' episodes (episode k at index k + 1), empty at first. Valid with the
  // milestones of the last call to milestones().
  std::vector<EpisodeMemo>& episodes(const std::string& marker, const std::string& method);

 private:
  struct SeriesMemo {
    std::string marker, method;
    std::vector<EpisodeMemo> episodes;
  };
  std::vector<Milestone> milestones_;
  const MarkerCatalog* markers_config_ = nullptr;
  const MilestoneKinds* kinds_ = nullptr;
  const RuleBook* rules_ = nullptr;
  // Each held on its own: a reference handed out stays valid while it is kept. (A deque would
  // allocate even while empty, for each of a replay's patients.)
  std::vector<std::unique_ptr<MarkerMilestones>> markers_;
  std::vector<std::unique_ptr<SeriesMemo>> series_;
};

}  // namespace markerwatch::engine
