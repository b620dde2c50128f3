#pragma once
// A patient history held in memory for replay: every version of every result with RULES.md E3
// applied on arrival (the same admit_version the database uses), and the milestones.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "core/records.hpp"
#include "core/version_resolution.hpp"
#include "engine/history.hpp"

namespace markerwatch::engine {

Milestone to_milestone(const MilestoneRecord& m);

// One patient's history as rows arrive (replay keeps one per patient).
class PatientLedger {
 public:
  // False when the row repeats a version already received. Throws InputError (E3 ambiguity).
  bool add_result(const ResultRecord& r);
  // False when the same milestone (kind, date, markers) is already known, or, for a removal
  // (entered_in_error), when there is none to remove.
  bool add_milestone(const MilestoneRecord& m);
  // The effective, countable values and the milestones, kept up to date on every add.
  const PatientHistory& history() const { return history_; }

 private:
  // One received version. A replay holds millions, so its texts (what E3 compares, and the unit
  // and obs_id the engine reads) share one allocation; VersionContent is rebuilt from them only
  // when a later version for the same series and date arrives.
  struct Version {
    std::int64_t row_id = 0;
    std::string texts;  // obs_id, received_at, collected_at, value_raw, unit_raw, reference_range,
                        // unit: each as its length, then its bytes
    double value = 0.0;
    std::optional<double> own_uln;
    ResultStatus status = ResultStatus::final_result;
    Comparator comparator = Comparator::none;
    bool counts = false;     // a value with a status that counts, on a valid date
    bool effective = false;  // E3: carries the current value of its observation
  };
  // Every version received for one series on one collection date, in arrival order. Nearly every
  // group has one version: it is held in place, later ones beside it.
  struct Group {
    std::string date;          // the collection date as written
    std::uint32_t series = 0;  // index in series_
    Version first;
    std::vector<Version> later;
    std::size_t size() const { return 1 + later.size(); }
    Version& at(std::size_t i) { return i == 0 ? first : later[i - 1]; }
  };
  static Version pack(const ResultRecord& r, std::int64_t row_id, bool counts);
  static VersionContent unpack(const Version& v);
  static std::string_view text(const Version& v, std::size_t field);
  std::uint32_t series_of(const std::string& marker, const std::string& method);

  // (marker, method) of each series, in order of first arrival: a patient has a few.
  std::vector<std::pair<std::string, std::string>> series_;
  // Ordered by (date, series): arrivals mostly come in date order, so they append.
  std::vector<Group> groups_;
  std::set<std::tuple<std::string, int, std::vector<std::string>>> milestone_keys_;
  PatientHistory history_;
  std::int64_t next_row_ = 1;  // arrival order within the patient
};

}  // namespace markerwatch::engine
