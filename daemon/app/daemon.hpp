#pragma once
// The composition root of markerwatchd: settings, the store writer, the MLLP listener, signals,
// systemd notification. Owns the io_context and every thread.
#include <memory>
#include <string>

#include "net/mllp_server.hpp"
#include "net/tls_context.hpp"
#include "settings/settings.hpp"

namespace markerwatch::app {

// Runs until SIGTERM/SIGINT; returns the process exit code. SIGHUP and POST /reload read
// `config_path` again (empty: the embedded defaults, which a reload cannot change).
int run_daemon(std::shared_ptr<const settings::Settings> settings, const std::string& config_path);

// The TLS contexts the settings ask for (null where a listener speaks plain), loaded as the start
// and each reload load them. Throws std::runtime_error naming the key and the file.
struct ListenerTlsContexts {
  std::shared_ptr<net::TlsContext> http;
  std::shared_ptr<const net::MllpTls> mllp;
};
ListenerTlsContexts load_listener_tls(const settings::Settings& s);

}  // namespace markerwatch::app
