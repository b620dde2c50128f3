#pragma once
// RULES.md E3: which stored version of an observation is the effective one. Pure function over
// every version received for one series on one collection date.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/records.hpp"
#include "core/result_status.hpp"

namespace markerwatch {

struct StoredVersion {
  std::int64_t row_id = 0;  // also the arrival order: later arrivals have larger ids
  std::string obs_id;       // empty when the source gave none
  ResultStatus status = ResultStatus::final_result;
  std::string received_at;  // UTC ISO 8601 or empty
};

struct VersionResolution {
  // Rows that carry the current value of their observation (preliminary ones included; the
  // status tells the engine not to evaluate them).
  std::vector<std::int64_t> effective_rows;
  // Human-readable notes, e.g. two versions that only arrival order could tell apart.
  std::vector<std::string> warnings;
};

VersionResolution resolve_versions(const std::vector<StoredVersion>& versions);

// How many distinct observations (value groups) exist among these versions: an incoming
// correction or removal without an observation id is ambiguous when there is more than one.
std::size_t count_value_groups(const std::vector<StoredVersion>& versions);

// A version with what makes two arrivals "identical" (E3: a repeat of any version is a no-op).
struct VersionContent {
  StoredVersion stored;
  std::string collected_at, value_raw, unit_raw, reference_range;
  bool same_as(const VersionContent& other) const;
};

// What E3 compares of a result, as the version numbered `row_id`.
VersionContent version_content(const ResultRecord& r, std::int64_t row_id);

// E3 on arrival of `incoming` (whose row_id must be above every existing one) in a series on one
// date: nullopt when it repeats a version already received; otherwise the resolution with it.
// Throws InputError when it is a correction or removal without observation id that matches
// several values of `marker` on `date` (both only name them in the message).
std::optional<VersionResolution> admit_version(const std::vector<VersionContent>& existing,
                                               const VersionContent& incoming,
                                               std::string_view marker, std::string_view date);

}  // namespace markerwatch
