#include "engine/ledger.hpp"

#include <algorithm>

#include "core/calendar.hpp"
#include "core/errors.hpp"

namespace markerwatch::engine {

std::optional<Value> to_value(const ResultRecord& r) {
  if (!r.value || !counts_for_evaluation(r.status)) return std::nullopt;
  auto day = day_number(r.collected_date);
  if (!day) return std::nullopt;
  return Value{r.marker, r.method, *day, *r.value, r.comparator, r.unit, r.uln, r.obs_id};
}

Milestone to_milestone(const MilestoneRecord& m) {
  Milestone out;
  out.kind = m.kind;
  out.day = day_number(m.date).value_or(0);
  if (!m.end_date.empty()) out.end_day = day_number(m.end_date);
  out.markers = m.markers;
  return out;
}

std::string patient_key(const PatientKey& p) {
  return p.authority.empty() ? p.id : p.id + "^" + p.authority;
}

bool PatientLedger::add_result(const ResultRecord& r) {
  history_.patient = r.patient.id;
  auto& group = groups_[{r.marker, r.method, r.collected_date}];
  VersionContent incoming{{next_row_, r.obs_id, r.status, r.received_at},
                          r.collected_at,
                          r.value_raw,
                          r.unit_raw,
                          r.reference_range};
  auto resolution = admit_version(group.versions, incoming, r.marker, r.collected_date);
  if (!resolution) return false;
  ++next_row_;
  auto& values = history_.values;
  const auto day = day_number(r.collected_date);
  // Replace this group's values in the history by its new effective ones (usually: the group
  // was empty and its one value is added).
  if (!group.effective_rows.empty()) {
    auto in_group = [&](const Value& v) {
      return day && v.day == *day && v.marker == r.marker && v.method == r.method;
    };
    std::erase_if(values, in_group);
  }
  group.versions.push_back(std::move(incoming));
  group.values.push_back(to_value(r));
  group.effective_rows = std::move(resolution->effective_rows);
  for (std::size_t i = 0; i < group.versions.size(); ++i)
    if (group.values[i] &&
        std::binary_search(group.effective_rows.begin(), group.effective_rows.end(),
                           group.versions[i].stored.row_id))
      values.push_back(*group.values[i]);
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
