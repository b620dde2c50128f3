#pragma once
// The upper limit of normal carried by a result's reference range, when one can be read from it.
#include <optional>
#include <string_view>

namespace markerwatch {

// Accepts "a-b", "<b", "<=b", a bare "b" (RULES.md §1) and the spellings labs send in HL7
// (INTEROP.md §1.2): "(<1.0)", "70_105", "4.3 to 6.2", "a - b". Returns nullopt for prose,
// lower-only ranges (">10") and anything it cannot read with certainty.
std::optional<double> upper_limit_of(std::string_view range);

}  // namespace markerwatch
