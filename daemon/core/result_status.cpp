#include "core/result_status.hpp"

#include "core/text.hpp"

namespace markerwatch {

std::string_view to_string(ResultStatus s) {
  switch (s) {
    case ResultStatus::preliminary:
      return "preliminary";
    case ResultStatus::final_result:
      return "final";
    case ResultStatus::corrected:
      return "corrected";
    case ResultStatus::amended:
      return "amended";
    case ResultStatus::entered_in_error:
      return "entered-in-error";
    case ResultStatus::cancelled:
      return "cancelled";
    case ResultStatus::deleted:
      return "deleted";
  }
  return "final";
}

std::optional<ResultStatus> status_from_string(std::string_view s) {
  // Stored rows use the canonical lower-case names: take them without a copy.
  for (auto st : {ResultStatus::final_result, ResultStatus::corrected, ResultStatus::preliminary,
                  ResultStatus::amended, ResultStatus::entered_in_error, ResultStatus::cancelled,
                  ResultStatus::deleted})
    if (s == to_string(st)) return st;
  const auto v = text::to_lower(text::trim(s));
  if (v == "preliminary") return ResultStatus::preliminary;
  if (v == "final" || v.empty()) return ResultStatus::final_result;
  if (v == "corrected") return ResultStatus::corrected;
  if (v == "amended") return ResultStatus::amended;
  if (v == "entered-in-error" || v == "entered_in_error") return ResultStatus::entered_in_error;
  if (v == "cancelled") return ResultStatus::cancelled;
  if (v == "deleted") return ResultStatus::deleted;
  return std::nullopt;
}

int precedence(ResultStatus s) {
  switch (s) {
    case ResultStatus::preliminary:
      return 0;
    case ResultStatus::final_result:
      return 1;
    case ResultStatus::corrected:
    case ResultStatus::amended:
      return 2;
    case ResultStatus::entered_in_error:
    case ResultStatus::cancelled:
    case ResultStatus::deleted:
      return 3;
  }
  return 1;
}

bool removes_value(ResultStatus s) {
  return precedence(s) == 3;
}
bool is_correction(ResultStatus s) {
  return precedence(s) >= 2;
}
bool counts_for_evaluation(ResultStatus s) {
  return precedence(s) == 1 || precedence(s) == 2;
}

Hl7Status from_hl7_result_status(std::string_view code) {
  const auto c = text::trim(code);
  if (c == "F" || c == "U") return {Hl7StatusAction::store, ResultStatus::final_result};
  if (c == "C") return {Hl7StatusAction::store, ResultStatus::corrected};
  if (c == "P" || c == "R" || c == "S") return {Hl7StatusAction::store, ResultStatus::preliminary};
  if (c == "D" || c == "W") return {Hl7StatusAction::no_value, ResultStatus::deleted};
  if (c == "X") return {Hl7StatusAction::no_value, ResultStatus::cancelled};
  if (c == "I" || c == "O" || c == "N")
    return {Hl7StatusAction::ignore, ResultStatus::final_result};
  return {Hl7StatusAction::unknown, ResultStatus::final_result};
}

}  // namespace markerwatch
