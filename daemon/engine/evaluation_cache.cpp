#include "engine/evaluation_cache.hpp"

#include "engine/evaluate.hpp"

namespace markerwatch::engine {

const MarkerMilestones& EvaluationCache::milestones(const PatientHistory& h,
                                                    const std::string& marker,
                                                    const EngineConfig& config) {
  if (h.milestones != milestones_ || config.markers != markers_config_ || config.kinds != kinds_ ||
      config.rules != rules_) {
    milestones_ = h.milestones;
    markers_config_ = config.markers;
    kinds_ = config.kinds;
    rules_ = config.rules;
    markers_.clear();
    series_.clear();
  }
  for (const auto& m : markers_)
    if (m->marker == marker) return *m;
  return *markers_.emplace_back(std::make_unique<MarkerMilestones>(
      marker_milestones(h, marker, *config.kinds, *config.rules)));
}

std::vector<EpisodeMemo>& EvaluationCache::episodes(const std::string& marker,
                                                    const std::string& method) {
  for (const auto& s : series_)
    if (s->marker == marker && s->method == method) return s->episodes;
  return series_.emplace_back(std::make_unique<SeriesMemo>(SeriesMemo{marker, method, {}}))
      ->episodes;
}

}  // namespace markerwatch::engine
