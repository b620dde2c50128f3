#pragma once
// Calendar days as integers (days since 1970-01-01), the unit the trend rules count in.
#include <optional>
#include <string>
#include <string_view>

namespace markerwatch {

// "YYYY-MM-DD" (a valid Gregorian date) -> day number.
std::optional<int> day_number(std::string_view iso_date);
std::string format_day(int day);
// format_day's ten characters written at `out`, for a day of the years 0-9999; false (nothing
// written) for a day outside them.
bool write_day(int day, char* out);

}  // namespace markerwatch
