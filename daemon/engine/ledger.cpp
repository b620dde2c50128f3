#include "engine/ledger.hpp"

#include <algorithm>
#include <cstring>

#include "core/calendar.hpp"
#include "core/errors.hpp"

namespace markerwatch::engine {

namespace {
// The texts of a Version, in this order.
enum Field : std::size_t {
  obs_id,
  received_at,
  collected_at,
  value_raw,
  unit_raw,
  reference_range,
  unit,
};

// A length below 255 takes one byte; a longer one 255 and then four bytes.
void append_text(std::string& out, std::string_view text) {
  if (text.size() < 255) {
    out.push_back(static_cast<char>(text.size()));
  } else {
    out.push_back(static_cast<char>(255));
    const auto size = static_cast<std::uint32_t>(text.size());
    char bytes[4];
    std::memcpy(bytes, &size, sizeof bytes);
    out.append(bytes, sizeof bytes);
  }
  out.append(text);
}

// Reads the text at `at` and moves `at` past it.
std::string_view next_text(std::string_view texts, std::size_t& at) {
  std::size_t size = static_cast<unsigned char>(texts[at++]);
  if (size == 255) {
    std::uint32_t long_size = 0;
    std::memcpy(&long_size, texts.data() + at, sizeof long_size);
    at += sizeof long_size;
    size = long_size;
  }
  const auto text = texts.substr(at, size);
  at += size;
  return text;
}
}  // namespace

Milestone to_milestone(const MilestoneRecord& m) {
  Milestone out;
  out.kind = m.kind;
  out.day = day_number(m.date).value_or(0);
  if (!m.end_date.empty()) out.end_day = day_number(m.end_date);
  out.markers = m.markers;
  return out;
}

PatientLedger::Version PatientLedger::pack(const ResultRecord& r, std::int64_t row_id,
                                           bool counts) {
  Version v;
  v.row_id = row_id;
  v.texts.reserve(7 + r.obs_id.size() + r.received_at.size() + r.collected_at.size() +
                  r.value_raw.size() + r.unit_raw.size() + r.reference_range.size() +
                  r.unit.size());
  for (const auto* text : {&r.obs_id, &r.received_at, &r.collected_at, &r.value_raw, &r.unit_raw,
                           &r.reference_range, &r.unit})
    append_text(v.texts, *text);
  v.value = r.value.value_or(0.0);
  v.own_uln = r.uln;
  v.status = r.status;
  v.comparator = r.comparator;
  v.counts = counts;
  return v;
}

std::string_view PatientLedger::text(const Version& v, std::size_t field) {
  std::size_t at = 0;
  for (std::size_t i = 0; i < field; ++i) next_text(v.texts, at);
  return next_text(v.texts, at);
}

VersionContent PatientLedger::unpack(const Version& v) {
  std::size_t at = 0;
  std::string_view texts[7];
  for (auto& t : texts) t = next_text(v.texts, at);
  return {{v.row_id, std::string(texts[obs_id]), v.status, std::string(texts[received_at])},
          std::string(texts[collected_at]),
          std::string(texts[value_raw]),
          std::string(texts[unit_raw]),
          std::string(texts[reference_range])};
}

std::uint32_t PatientLedger::series_of(const std::string& marker, const std::string& method) {
  for (std::size_t i = 0; i < series_.size(); ++i)
    if (series_[i].first == marker && series_[i].second == method)
      return static_cast<std::uint32_t>(i);
  series_.emplace_back(marker, method);
  return static_cast<std::uint32_t>(series_.size() - 1);
}

bool PatientLedger::add_result(const ResultRecord& r) {
  history_.patient = r.patient.id;
  const auto series = series_of(r.marker, r.method);
  const std::string_view date = r.collected_date;
  const auto before = [&](const Group& g) {
    return g.date < date || (g.date == date && g.series < series);
  };
  // Arrivals mostly come in date order: the new group goes at the end.
  auto at = groups_.empty() || before(groups_.back())
                ? groups_.end()
                : std::partition_point(groups_.begin(), groups_.end(), before);
  const bool known = at != groups_.end() && at->date == date && at->series == series;

  std::vector<VersionContent> existing;
  if (known) {
    existing.reserve(at->size());
    for (std::size_t i = 0; i < at->size(); ++i) existing.push_back(unpack(at->at(i)));
  }
  auto resolution = admit_version(existing, version_content(r, next_row_), r.marker, date);
  if (!resolution) return false;
  const auto day = day_number(date);
  auto added = pack(r, next_row_, r.value && counts_for_evaluation(r.status) && day);
  ++next_row_;
  if (known) {
    at->later.push_back(std::move(added));
  } else {
    // Grown by half, not doubled: a replay holds every patient's groups at once.
    if (groups_.size() == groups_.capacity()) {
      const auto index = at - groups_.begin();
      groups_.reserve(groups_.size() + groups_.size() / 2 + 2);
      at = groups_.begin() + index;
    }
    at = groups_.insert(at, Group{std::string(date), series, std::move(added), {}});
  }
  auto& group = *at;

  // Replace this group's values in the history by its new effective ones (usually: the group
  // was empty and its one value is added).
  auto& values = history_.values;
  bool had_values = false;
  for (std::size_t i = 0; i < group.size(); ++i) {
    auto& version = group.at(i);
    had_values = had_values || (version.effective && version.counts);
    version.effective = std::binary_search(resolution->effective_rows.begin(),
                                           resolution->effective_rows.end(), version.row_id);
  }
  if (had_values)
    std::erase_if(values, [&](const Value& v) {
      return v.day == *day && v.marker == r.marker && v.method == r.method;
    });
  for (std::size_t i = 0; i < group.size(); ++i) {
    const auto& version = group.at(i);
    if (!version.effective || !version.counts) continue;
    // Grown by half, not doubled: the spare room of doubled vectors (with the smaller ones they
    // replaced) was ~10% of a replay's memory.
    if (values.size() == values.capacity()) values.reserve(values.size() + values.size() / 2 + 2);
    // Filled in place: a Value built aside and moved in copies each of its short texts twice.
    auto& value = values.emplace_back();
    value.marker = r.marker;
    value.method = r.method;
    value.day = *day;
    value.value = version.value;
    value.comparator = version.comparator;
    value.unit = text(version, unit);
    value.own_uln = version.own_uln;
    value.obs_id = text(version, obs_id);
  }
  return true;
}

bool PatientLedger::add_milestone(const MilestoneRecord& m) {
  history_.patient = m.patient.id;
  auto milestone = to_milestone(m);
  if (m.entered_in_error) {
    if (!milestone_keys_.erase({milestone.kind, milestone.day, milestone.markers})) return false;
    std::erase_if(history_.milestones, [&](const Milestone& kept) {
      return kept.kind == milestone.kind && kept.day == milestone.day &&
             kept.markers == milestone.markers;
    });
    return true;
  }
  if (!milestone_keys_.emplace(milestone.kind, milestone.day, milestone.markers).second)
    return false;
  history_.milestones.push_back(std::move(milestone));
  return true;
}

}  // namespace markerwatch::engine
