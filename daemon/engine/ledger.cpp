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
  patient.history.patient = r.patient.id;
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
  // Replace this group's values in the patient's history by its new effective ones.
  auto& values = patient.history.values;
  auto in_group = [&](const Value& v) { return v.marker == r.marker && v.method == r.method; };
  const auto day = day_number(r.collected_date);
  std::erase_if(values, [&](const Value& v) { return day && v.day == *day && in_group(v); });
  group.versions.push_back({std::move(incoming), to_value(r)});
  group.effective_rows = std::move(resolution->effective_rows);
  for (const auto& v : group.versions)
    if (v.value && std::binary_search(group.effective_rows.begin(), group.effective_rows.end(),
                                      v.content.stored.row_id))
      values.push_back(*v.value);
  return true;
}

bool HistoryLedger::add_milestone(const MilestoneRecord& m) {
  auto& patient = patients_[patient_key(m.patient)];
  patient.history.patient = m.patient.id;
  auto milestone = to_milestone(m);
  if (!patient.milestone_keys.emplace(milestone.kind, milestone.day, milestone.markers).second)
    return false;
  patient.history.milestones.push_back(std::move(milestone));
  return true;
}

const PatientHistory& HistoryLedger::history(const std::string& key) const {
  static const PatientHistory kNone;
  auto it = patients_.find(key);
  return it == patients_.end() ? kNone : it->second.history;
}

}  // namespace markerwatch::engine
