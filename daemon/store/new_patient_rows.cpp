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

std::optional<VersionResolution> admit_arrival(const std::vector<StoredResultVersion>& versions,
                                               const ResultRecord& r) {
  std::vector<VersionContent> existing;
  existing.reserve(versions.size());
  for (const auto& v : versions) existing.push_back(v.content);
  return admit_version(existing, version_content(r, kArrivingRow), r.marker, r.collected_date);
}

bool is_effective(const VersionResolution& resolution, std::int64_t row_id) {
  return std::binary_search(resolution.effective_rows.begin(), resolution.effective_rows.end(),
                            row_id);
}

bool NewPatientRows::admit(ResultRecord&& r, std::optional<std::int64_t> message_id) {
  const auto versions = versions_of(r);
  const auto resolution = admit_arrival(versions, r);
  if (!resolution) return false;
  for (const auto& v : versions) {
    const auto number = v.content.stored.row_id;
    rows_[static_cast<std::size_t>(number - 1)].effective = is_effective(*resolution, number);
  }
  // Filled in place: an aggregate's parenthesised initialisation (P0960) is beyond clang 14,
  // which builds the fuzz targets.
  auto& row = rows_.emplace_back();
  row.number = static_cast<std::int64_t>(rows_.size());
  row.record = std::move(r);
  row.message_id = message_id;
  row.effective = is_effective(*resolution, kArrivingRow);
  by_series_date_.emplace(std::tuple<std::string_view, std::string_view, std::string_view>(
                              row.record.collected_date, row.record.marker, row.record.method),
                          &row);
  return true;
}

void NewPatientRows::assign_message(std::int64_t message_id) {
  for (auto& row : rows_) row.message_id = message_id;
}

std::optional<engine::Value> counted_value(const ResultRecord& r, bool effective) {
  if (!effective || !r.value || !counts_for_evaluation(r.status)) return std::nullopt;
  const auto day = day_number(r.collected_date);
  if (!day) return std::nullopt;
  return engine::Value{r.marker, r.method, *day, *r.value, r.comparator, r.unit, r.uln, r.obs_id};
}

std::vector<engine::Value> NewPatientRows::values() const {
  std::vector<engine::Value> out;
  for (const auto& row : rows_)
    if (auto v = counted_value(row.record, row.effective)) out.push_back(std::move(*v));
  // Valid dates order as their day numbers: by date, then arrival, as the index reads them. Rows
  // nearly always arrive in date order: then nothing moves.
  const auto by_day = [](const engine::Value& a, const engine::Value& b) { return a.day < b.day; };
  if (!std::is_sorted(out.begin(), out.end(), by_day))
    std::stable_sort(out.begin(), out.end(), by_day);
  return out;
}

}  // namespace markerwatch::store
