#include "fuzz_support.hpp"

#include <cmath>

#include "core/records.hpp"

namespace markerwatch::fuzz {

namespace {

bool is_date(const std::string& d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (d[i] < '0' || d[i] > '9') return false;
  const int month = (d[5] - '0') * 10 + (d[6] - '0');
  const int day = (d[8] - '0') * 10 + (d[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

}  // namespace

const settings::Settings& sample_settings() {
  static const settings::Settings settings =
      settings::load_settings_file(MW_SOURCE_DIR "/tests/fixtures/toml/samples.toml");
  return settings;
}

void require_whole(const ResultRecord& r) {
  require(!r.patient.id.empty(), "a result without a patient");
  require(!r.marker.empty(), "a result without a marker");
  require(is_date(r.collected_date), "a result whose collection date is no date");
  require(!r.collected_at.empty(), "a result without a collection time");
  require(r.value.has_value() || removes_value(r.status), "a result without a value");
  require(!r.value || std::isfinite(*r.value), "a result whose value is not finite");
  require(!r.uln || std::isfinite(*r.uln), "a result whose upper limit is not finite");
}

void require_whole(const MilestoneRecord& m) {
  require(!m.patient.id.empty(), "a milestone without a patient");
  require(!m.kind.empty(), "a milestone without a kind");
  require(is_date(m.date), "a milestone whose date is no date");
  require(m.end_date.empty() || is_date(m.end_date), "a milestone whose end date is no date");
}

}  // namespace markerwatch::fuzz
