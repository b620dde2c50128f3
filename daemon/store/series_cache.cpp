#include "store/series_cache.hpp"

#include <algorithm>

#include "store/new_patient_rows.hpp"

namespace markerwatch::store {

SeriesCache::SeriesCache(Database& db, std::size_t max_values) : db_(db), max_values_(max_values) {
  db_.watch_table("results");
  seen_changes_ = db_.watched_changes();
}

bool SeriesCache::current() {
  if (!db_.in_transaction()) return false;
  if (const auto changes = db_.watched_changes(); changes != seen_changes_) {
    clear();
    seen_changes_ = changes;
  }
  return true;
}

SeriesCache::Series* SeriesCache::series_of(std::int64_t patient_id, std::string_view marker) {
  auto it = patients_.find(patient_id);
  if (it == patients_.end()) return nullptr;
  for (auto& s : it->second)
    if (s.marker == marker) return &s;
  return nullptr;
}

std::optional<std::vector<engine::Value>> SeriesCache::take(std::int64_t patient_id,
                                                            std::string_view marker) {
  auto* s = series_of(patient_id, marker);
  if (!s) return std::nullopt;
  auto values = std::move(s->values);
  slots_ -= values.capacity();
  forget(patient_id, s);
  return values;
}

void SeriesCache::keep(std::int64_t patient_id, std::string_view marker,
                       std::vector<engine::Value> values) {
  if (values.capacity() > max_values_) return;
  // Full: start again rather than track which series were used last. Under a steady load the
  // series in use are kept again within a batch or two.
  if (slots_ + values.capacity() > max_values_) clear();
  auto& series = patients_[patient_id];
  slots_ += values.capacity();
  for (auto& s : series)
    if (s.marker == marker) {
      slots_ -= s.values.capacity();
      s.values = std::move(values);
      return;
    }
  series.push_back({std::string(marker), std::move(values)});
}

void SeriesCache::note_stored(std::int64_t patient_id, const ResultRecord& r, bool effective,
                              bool flags_changed) {
  seen_changes_ = db_.watched_changes();  // the change described here is accounted for
  auto* s = series_of(patient_id, r.marker);
  if (!s) return;
  if (flags_changed) {
    forget(patient_id, s);
    return;
  }
  auto value = counted_value(r, effective);
  if (!value) return;
  auto& values = s->values;
  if (values.size() == values.capacity()) {
    // A quarter more room, not twice as much: the limit counts room, not values.
    const auto room = values.size() + std::max<std::size_t>(4, values.size() / 4);
    if (slots_ - values.capacity() + room > max_values_) {
      clear();
      return;
    }
    slots_ -= values.capacity();
    values.reserve(room);
    slots_ += values.capacity();
  }
  // After the values of its date and before later ones: the index's order for the newest row.
  const auto at = std::upper_bound(values.begin(), values.end(), value->day,
                                   [](int day, const engine::Value& v) { return day < v.day; });
  values.insert(at, std::move(*value));
}

void SeriesCache::note_written(std::int64_t patient_id) {
  seen_changes_ = db_.watched_changes();
  forget(patient_id, nullptr);
}

void SeriesCache::forget(std::int64_t patient_id, const Series* only) {
  auto patient = patients_.find(patient_id);
  if (patient == patients_.end()) return;
  std::erase_if(patient->second, [&](const Series& s) {
    if (only && &s != only) return false;
    slots_ -= s.values.capacity();
    return true;
  });
  if (patient->second.empty()) patients_.erase(patient);
}

std::size_t SeriesCache::values_kept() const {
  std::size_t values = 0;
  for (const auto& [patient, series] : patients_)
    for (const auto& s : series) values += s.values.size();
  return values;
}

void SeriesCache::clear() {
  patients_.clear();
  slots_ = 0;
}

}  // namespace markerwatch::store
