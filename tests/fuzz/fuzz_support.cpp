#include "fuzz_support.hpp"

#include <cmath>
#include <cstdlib>

#include "core/calendar.hpp"
#include "core/timestamp.hpp"

namespace markerwatch::fuzz {

const settings::Settings& sample_settings() {
  static const settings::Settings settings =
      settings::load_settings_file(MW_SOURCE_DIR "/tests/fixtures/toml/samples.toml");
  return settings;
}

void require_whole(const ResultRecord& r) {
  require(!r.patient.id.empty(), "a result without a patient");
  require(!r.marker.empty(), "a result without a marker");
  const auto local = day_number(r.collected_date);
  require(local.has_value(), "a result whose collection date is no date");
  require(parse_iso_timestamp(r.collected_at).has_value(),
          "a result whose collection time is no ISO 8601 time");
  // The clinical date is the sender's local date of the UTC instant: a day apart at most.
  const auto utc = day_number(r.collected_at.substr(0, 10));
  require(utc && std::abs(*utc - *local) <= 1,
          "a result whose collection date is more than a day from its UTC time");
  require(r.value.has_value() || removes_value(r.status), "a result without a value");
  require(!r.value || std::isfinite(*r.value), "a result whose value is not finite");
  require(!r.uln || std::isfinite(*r.uln), "a result whose upper limit is not finite");
}

void require_whole(const MilestoneRecord& m) {
  require(!m.patient.id.empty(), "a milestone without a patient");
  require(!m.kind.empty(), "a milestone without a kind");
  const auto start = day_number(m.date);
  require(start.has_value(), "a milestone whose date is no date");
  if (m.end_date.empty()) return;
  const auto end = day_number(m.end_date);
  require(end.has_value(), "a milestone whose end date is no date");
  require(*end >= *start, "a milestone that ends before it starts");
}

}  // namespace markerwatch::fuzz
