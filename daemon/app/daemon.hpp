#pragma once
// The composition root of markerwatchd: settings, the store writer, the MLLP listener, signals,
// systemd notification. Owns the io_context and every thread.
#include <memory>
#include <string>

#include "settings/settings.hpp"

namespace markerwatch::app {

// Runs until SIGTERM/SIGINT; returns the process exit code. SIGHUP and POST /reload read
// `config_path` again (empty: the embedded defaults, which a reload cannot change).
int run_daemon(std::shared_ptr<const settings::Settings> settings, const std::string& config_path);

}  // namespace markerwatch::app
