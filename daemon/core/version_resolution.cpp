#include "core/version_resolution.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "core/errors.hpp"

namespace markerwatch {

namespace {

// Group key: the observation id, or for id-less values the row itself ("#<row>").
std::map<std::string, std::vector<const StoredVersion*>> value_groups(
    const std::vector<StoredVersion>& versions) {
  std::map<std::string, std::vector<const StoredVersion*>> groups;
  for (const auto& v : versions) {
    if (!v.obs_id.empty())
      groups[v.obs_id].push_back(&v);
    else if (!is_correction(v.status) && !removes_value(v.status))
      groups["#" + std::to_string(v.row_id)].push_back(&v);
  }
  return groups;
}

auto order_key(const StoredVersion* v) {
  return std::make_tuple(precedence(v->status), v->received_at, v->row_id);
}

}  // namespace

std::size_t count_value_groups(const std::vector<StoredVersion>& versions) {
  return value_groups(versions).size();
}

VersionResolution resolve_versions(const std::vector<StoredVersion>& versions) {
  VersionResolution out;
  auto groups = value_groups(versions);
  std::vector<const StoredVersion*> unattached;
  for (const auto& v : versions)
    if (v.obs_id.empty() && (is_correction(v.status) || removes_value(v.status)))
      unattached.push_back(&v);
  if (!unattached.empty()) {
    if (groups.size() == 1) {
      auto& only = groups.begin()->second;
      only.insert(only.end(), unattached.begin(), unattached.end());
    } else if (groups.size() > 1) {
      out.warnings.push_back(
          "a correction without observation id matches several values on its date and was not "
          "applied");
    }
    // With no value yet the correction waits: it applies once a value for that date arrives.
  }
  for (auto& [key, members] : groups) {
    auto winner = *std::max_element(members.begin(), members.end(),
                                    [](auto* a, auto* b) { return order_key(a) < order_key(b); });
    for (auto* m : members)
      if (m != winner && m->status == winner->status && m->received_at == winner->received_at &&
          members.size() > 1)
        out.warnings.push_back("observation " + key +
                               ": two versions with the same status and time; the later arrival "
                               "wins");
    if (!removes_value(winner->status)) out.effective_rows.push_back(winner->row_id);
  }
  std::sort(out.effective_rows.begin(), out.effective_rows.end());
  out.warnings.erase(std::unique(out.warnings.begin(), out.warnings.end()), out.warnings.end());
  return out;
}

bool VersionContent::same_as(const VersionContent& o) const {
  return stored.obs_id == o.stored.obs_id && stored.status == o.stored.status &&
         stored.received_at == o.stored.received_at && collected_at == o.collected_at &&
         value_raw == o.value_raw && unit_raw == o.unit_raw && reference_range == o.reference_range;
}

std::optional<VersionResolution> admit_version(const std::vector<VersionContent>& existing,
                                               const VersionContent& incoming,
                                               std::string_view marker, std::string_view date) {
  if (existing.empty()) {
    // The usual case, with resolve_versions' outcome for one version: a correction or removal
    // without observation id waits for a value; a removal removes; anything else counts.
    const auto& v = incoming.stored;
    VersionResolution only;
    if (!removes_value(v.status) && !(v.obs_id.empty() && is_correction(v.status)))
      only.effective_rows.push_back(v.row_id);
    return only;
  }
  for (const auto& v : existing)
    if (v.same_as(incoming)) return std::nullopt;
  std::vector<StoredVersion> candidates;
  for (const auto& v : existing) candidates.push_back(v.stored);
  const auto status = incoming.stored.status;
  if (incoming.stored.obs_id.empty() && (is_correction(status) || removes_value(status)) &&
      count_value_groups(candidates) > 1)
    throw InputError("a " + std::string(to_string(status)) +
                     " result without observation id matches several " + std::string(marker) +
                     " values on " + std::string(date) + "; send it with its obs_id");
  candidates.push_back(incoming.stored);
  return resolve_versions(candidates);
}

VersionContent version_content(const ResultRecord& r, std::int64_t row_id) {
  return {{row_id, r.obs_id, r.status, r.received_at},
          r.collected_at,
          r.value_raw,
          r.unit_raw,
          r.reference_range};
}

}  // namespace markerwatch
