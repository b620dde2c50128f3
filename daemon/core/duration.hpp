#pragma once
// Spans of time as people write them in config and on the command line: "30m", "12h", "7d".
#include <cstdint>
#include <optional>
#include <string_view>

namespace markerwatch {

// A decimal number directly followed by s, m, h or d ("90s", "1.5h", "7d"), in whole seconds
// (a fraction of a second is dropped). Anything else, a sign or a space included, is nullopt;
// callers decide which spans make sense where.
std::optional<std::int64_t> parse_duration_seconds(std::string_view text);

}  // namespace markerwatch
