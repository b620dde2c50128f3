#pragma once
// RULES.md E3: which stored version of an observation is the effective one. Pure function over
// every version received for one series on one collection date.
#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace markerwatch
