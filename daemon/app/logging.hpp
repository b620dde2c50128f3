#pragma once
#include <string>

namespace markerwatch::app {

// Logs go to stdout, one line per event; under systemd (JOURNAL_STREAM set) without our own
// timestamps, since the journal adds them.
void setup_logging(const std::string& level);
// Every registered logger (the modules' too) at `level` from now on (a configuration reload).
void set_log_level(const std::string& level);

}  // namespace markerwatch::app
