#include "store/new_patient_rows.hpp"

#include <algorithm>

#include "core/calendar.hpp"

namespace markerwatch::store {

std::vector<StoredResultVersion> NewPatientRows::versions_of(const ResultRecord& r) const {
  std::vector<StoredResultVersion> out;
  const auto [first, last] = by_series_date_.equal_range({r.collected_date, r.marker, r.method});
  for (auto it = first; it != last; ++it) out.push_back(it->second->version);
  return out;
}

void NewPatientRows::add(std::int64_t row_id, const ResultRecord& r, bool effective) {
  rows_.push_back({{{{row_id, r.obs_id, r.status, r.received_at},
                     r.collected_at,
                     r.value_raw,
                     r.unit_raw,
                     r.reference_range},
                    effective},
                   r.marker,
                   r.method,
                   r.collected_date,
                   r.unit,
                   r.value,
                   r.uln,
                   r.comparator});
  const Row& row = rows_.back();
  by_series_date_.emplace(std::tuple<std::string_view, std::string_view, std::string_view>(
                              row.collected_date, row.marker, row.method),
                          &row);
}

void NewPatientRows::set_effective(std::int64_t row_id, bool effective) {
  auto at = std::lower_bound(
      rows_.begin(), rows_.end(), row_id,
      [](const Row& row, std::int64_t id) { return row.version.content.stored.row_id < id; });
  if (at != rows_.end() && at->version.content.stored.row_id == row_id)
    at->version.effective = effective;
}

std::vector<engine::Value> NewPatientRows::values() const {
  std::vector<const Row*> counted;
  for (const auto& row : rows_)
    if (row.version.effective && row.value &&
        counts_for_evaluation(row.version.content.stored.status) && day_number(row.collected_date))
      counted.push_back(&row);
  std::stable_sort(counted.begin(), counted.end(), [](const Row* a, const Row* b) {
    return a->collected_date < b->collected_date;
  });
  std::vector<engine::Value> out;
  out.reserve(counted.size());
  for (const auto* row : counted)
    out.push_back({row->marker, row->method, *day_number(row->collected_date), *row->value,
                   row->comparator, row->unit, row->uln, row->version.content.stored.obs_id});
  return out;
}

}  // namespace markerwatch::store
