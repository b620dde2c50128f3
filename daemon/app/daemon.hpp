#pragma once
// The composition root of markerwatchd: settings, the store writer, the MLLP listener, signals,
// systemd notification. Owns the io_context and every thread.
#include "settings/settings.hpp"

namespace markerwatch::app {

// Runs until SIGTERM/SIGINT; returns the process exit code.
int run_daemon(const settings::Settings& settings);

}  // namespace markerwatch::app
