#include "engine/ledger.hpp"

#include <algorithm>
#include <string_view>

#include "core/calendar.hpp"
#include "core/errors.hpp"

namespace markerwatch::engine {

Milestone to_milestone(const MilestoneRecord& m) {
  Milestone out;
  out.kind = m.kind;
  out.day = day_number(m.date).value_or(0);
  if (!m.end_date.empty()) out.end_day = day_number(m.end_date);
  out.markers = m.markers;
  return out;
}

bool PatientLedger::add_result(const ResultRecord& r) {
  history_.patient = r.patient.id;
  const auto key = std::tuple<std::string_view, std::string_view, std::string_view>(
      r.collected_date, r.marker, r.method);
  auto at = groups_.find(key);
  if (at == groups_.end()) at = groups_.emplace(key, Group{}).first;
  auto& group = at->second;
  auto incoming = version_content(r, next_row_);
  auto resolution = admit_version(group.versions, incoming, r.marker, r.collected_date);
  if (!resolution) return false;
  ++next_row_;
  const auto day = day_number(r.collected_date);
  VersionState added;
  if (r.value && counts_for_evaluation(r.status) && day)
    added.reading = Reading{*r.value, r.comparator, r.uln, r.unit};
  group.versions.push_back(std::move(incoming));
  group.states.push_back(std::move(added));

  // Replace this group's values in the history by its new effective ones (usually: the group
  // was empty and its one value is added).
  auto& values = history_.values;
  bool had_values = false;
  for (std::size_t i = 0; i < group.states.size(); ++i) {
    auto& state = group.states[i];
    had_values = had_values || (state.effective && state.reading);
    state.effective =
        std::binary_search(resolution->effective_rows.begin(), resolution->effective_rows.end(),
                           group.versions[i].stored.row_id);
  }
  if (had_values)
    std::erase_if(values, [&](const Value& v) {
      return v.day == *day && v.marker == r.marker && v.method == r.method;
    });
  for (std::size_t i = 0; i < group.states.size(); ++i) {
    const auto& state = group.states[i];
    if (!state.effective || !state.reading) continue;
    const auto& reading = *state.reading;
    // Grown by half, not doubled: a replay holds every patient's history at once, and the spare
    // room of doubled vectors (with the smaller ones they replaced) was ~10% of its memory.
    if (values.size() == values.capacity()) values.reserve(values.size() + values.size() / 2 + 2);
    values.push_back(Value{r.marker, r.method, *day, reading.value, reading.comparator,
                           reading.unit, reading.own_uln, group.versions[i].stored.obs_id});
  }
  return true;
}

bool PatientLedger::add_milestone(const MilestoneRecord& m) {
  history_.patient = m.patient.id;
  auto milestone = to_milestone(m);
  if (!milestone_keys_.emplace(milestone.kind, milestone.day, milestone.markers).second)
    return false;
  history_.milestones.push_back(std::move(milestone));
  return true;
}

}  // namespace markerwatch::engine
