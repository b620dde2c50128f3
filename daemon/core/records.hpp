#pragma once
// What ingest hands to the store: one lab result, one therapy milestone, one patient identity.
// Every transport (HL7, CSV, later FHIR) maps into these, so storage and rules see one shape.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/numeric_value.hpp"
#include "core/result_status.hpp"

namespace markerwatch {

struct PatientKey {
  std::string id;
  std::string authority;  // assigning authority; empty when the sender gives none
  bool operator==(const PatientKey&) const = default;
};

// A patient written as "id" or "id^authority", split at the first '^' (HL7 identifiers cannot
// hold one). Not validated: parse_patient_key (core/patient_choice.hpp) checks input.
inline PatientKey split_patient_key(std::string_view text) {
  const auto caret = text.find('^');
  if (caret == std::string_view::npos) return {std::string(text), {}};
  return {std::string(text.substr(0, caret)), std::string(text.substr(caret + 1))};
}

// The written form split_patient_key reads back: "id", or "id^authority".
inline std::string patient_text(const PatientKey& p) {
  return p.authority.empty() ? p.id : p.id + "^" + p.authority;
}

struct ResultRecord {
  PatientKey patient;
  std::string marker;          // canonical marker name
  std::string method;          // method group: the method/lab string, empty when none
  std::string collected_at;    // UTC instant, ISO 8601
  std::string collected_date;  // clinical collection date, YYYY-MM-DD
  std::string collected_raw;   // as received
  bool collected_offset_assumed = false;
  std::optional<double> value;  // canonical unit; nullopt for removals
  Comparator comparator = Comparator::none;
  std::string value_raw;
  std::string unit_raw;
  std::string unit;  // the unit the stored value is in
  std::string reference_range;
  std::optional<double> uln;  // from the result's own range, in the stored unit
  ResultStatus status = ResultStatus::final_result;
  std::string obs_id;       // observation identity for corrections; empty when none
  std::string received_at;  // the source's version time, when given
  std::string source;       // hl7 | csv | fhir
};

struct MilestoneRecord {
  PatientKey patient;
  std::string kind;
  std::string date;      // YYYY-MM-DD
  std::string end_date;  // YYYY-MM-DD or empty
  std::string note;
  std::vector<std::string> markers;  // empty: all markers
  // A removal (status entered-in-error): of the milestone with this patient, kind, date and
  // markers; its end date and note do not count.
  bool entered_in_error = false;
};

}  // namespace markerwatch
