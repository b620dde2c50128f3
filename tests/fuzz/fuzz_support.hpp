#pragma once
// What every fuzz target shares: a failed property aborts with the reason (libFuzzer then keeps
// the input as a crash file; the replay driver fails its ctest test), and the settings the
// targets map with.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/records.hpp"
#include "settings/settings.hpp"

namespace markerwatch::fuzz {

[[noreturn]] inline void fail(std::string_view what) {
  std::fprintf(stderr, "fuzz property failed: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

inline void require(bool holds, std::string_view what) {
  if (!holds) fail(what);
}

// The markers of tests/fixtures/toml/samples.toml (the analytes of the public HL7 samples, so
// their observations map instead of being ignored) besides the built-in tumor markers.
const settings::Settings& sample_settings();

// What the store and the engine rely on in a record any transport hands them.
void require_whole(const ResultRecord& r);
void require_whole(const MilestoneRecord& m);

}  // namespace markerwatch::fuzz
