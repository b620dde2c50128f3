#pragma once
// A result as the store tests write them: a value from a CSV file, collected at midnight UTC.
#include <optional>
#include <string>

#include "core/records.hpp"

namespace markerwatch::test {

inline ResultRecord result_record(const std::string& patient, const std::string& marker,
                                  const std::string& date, std::optional<double> value,
                                  ResultStatus status = ResultStatus::final_result,
                                  const std::string& obs = "") {
  ResultRecord r;
  r.patient = {patient, ""};
  r.marker = marker;
  r.collected_at = date + "T00:00:00Z";
  r.collected_date = date;
  r.value = value;
  r.value_raw = value ? std::to_string(*value) : "";
  r.unit = "ng/mL";
  r.status = status;
  r.obs_id = obs;
  r.source = "csv";
  return r;
}

}  // namespace markerwatch::test
