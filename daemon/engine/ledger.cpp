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

bool HistoryLedger::add_result(const ResultRecord& r) {
  auto& patient = patients_[patient_key(r.patient)];
  patient.id = r.patient.id;
  auto& group = patient.groups[{r.marker, r.method, r.collected_date}];
  std::vector<VersionContent> existing;
  existing.reserve(group.versions.size());
  for (const auto& v : group.versions) existing.push_back(v.content);
  VersionContent incoming{{next_row_, r.obs_id, r.status, r.received_at},
                          r.collected_at,
                          r.value_raw,
                          r.unit_raw,
                          r.reference_range};
  auto resolution = admit_version(existing, incoming, r.marker + " values on " + r.collected_date);
  if (!resolution) return false;
  ++next_row_;
  group.versions.push_back({std::move(incoming), to_value(r)});
  group.effective_rows = std::move(resolution->effective_rows);
  return true;
}

bool HistoryLedger::add_milestone(const MilestoneRecord& m) {
  auto& patient = patients_[patient_key(m.patient)];
  patient.id = m.patient.id;
  auto milestone = to_milestone(m);
  if (!patient.milestone_keys.emplace(milestone.kind, milestone.day, milestone.markers).second)
    return false;
  patient.milestones.push_back(std::move(milestone));
  return true;
}

PatientHistory HistoryLedger::history(const std::string& key) const {
  PatientHistory h;
  auto it = patients_.find(key);
  if (it == patients_.end()) return h;
  h.patient = it->second.id;
  for (const auto& [group_key, group] : it->second.groups)
    for (const auto& v : group.versions)
      if (v.value && std::binary_search(group.effective_rows.begin(), group.effective_rows.end(),
                                        v.content.stored.row_id))
        h.values.push_back(*v.value);
  h.milestones = it->second.milestones;
  return h;
}

}  // namespace markerwatch::engine
