#pragma once
// Result status as RULES.md E3 orders it, with the HL7 (table 0085) and FHIR spellings mapped in.
#include <optional>
#include <string_view>

namespace markerwatch {

enum class ResultStatus {
  preliminary,
  final_result,
  corrected,
  amended,
  entered_in_error,
  cancelled,
  deleted,
};

std::string_view to_string(ResultStatus s);
// Accepts the product's own names (as in CSV and the database) and FHIR's.
std::optional<ResultStatus> status_from_string(std::string_view s);

// preliminary < final < corrected = amended < entered-in-error = cancelled = deleted.
int precedence(ResultStatus s);
bool removes_value(ResultStatus s);
bool is_correction(ResultStatus s);
// Final, amended and corrected results count; preliminary ones are stored but not evaluated.
bool counts_for_evaluation(ResultStatus s);

// What an HL7 OBX-11 code means for a stored result.
enum class Hl7StatusAction { store, no_value, ignore, unknown };
struct Hl7Status {
  Hl7StatusAction action = Hl7StatusAction::unknown;
  ResultStatus status = ResultStatus::final_result;
};
Hl7Status from_hl7_result_status(std::string_view code);

}  // namespace markerwatch
