#include "store/new_patient_rows.hpp"

#include <algorithm>

#include "core/calendar.hpp"

namespace markerwatch::store {

std::vector<StoredResultVersion> NewPatientRows::versions_of(const ResultRecord& r) const {
  std::vector<StoredResultVersion> out;
  const auto [first, last] = by_series_date_.equal_range({r.collected_date, r.marker, r.method});
  for (auto it = first; it != last; ++it)
    out.push_back({version_content(it->second->record, it->second->number), it->second->effective});
  return out;
}

void NewPatientRows::add(const ResultRecord& r, std::optional<std::int64_t> message_id,
                         bool effective) {
  rows_.push_back({static_cast<std::int64_t>(rows_.size()) + 1, r, message_id, effective});
  const auto& v = rows_.back().record;
  by_series_date_.emplace(std::tuple<std::string_view, std::string_view, std::string_view>(
                              v.collected_date, v.marker, v.method),
                          &rows_.back());
}

void NewPatientRows::set_effective(std::int64_t number, bool effective) {
  if (number >= 1 && number <= static_cast<std::int64_t>(rows_.size()))
    rows_[static_cast<std::size_t>(number - 1)].effective = effective;
}

std::vector<engine::Value> NewPatientRows::values() const {
  std::vector<const Row*> counted;
  for (const auto& row : rows_)
    if (row.effective && row.record.value && counts_for_evaluation(row.record.status) &&
        day_number(row.record.collected_date))
      counted.push_back(&row);
  std::stable_sort(counted.begin(), counted.end(), [](const Row* a, const Row* b) {
    return a->record.collected_date < b->record.collected_date;
  });
  std::vector<engine::Value> out;
  out.reserve(counted.size());
  for (const auto* row : counted) {
    const auto& v = row->record;
    out.push_back({v.marker, v.method, *day_number(v.collected_date), *v.value, v.comparator,
                   v.unit, v.uln, v.obs_id});
  }
  return out;
}

}  // namespace markerwatch::store
