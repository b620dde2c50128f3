// markerwatchd: the daemon. Foreground process; systemd does the daemonising.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "app/daemon.hpp"
#include "app/logging.hpp"
#include "app/tls_expiry_watch.hpp"
#include "core/clock.hpp"
#include "settings/settings.hpp"

int main(int argc, char** argv) {
  using namespace markerwatch;
  CLI::App cli{"markerwatchd - tumor-marker trend monitoring service"};
  std::string config_path;
  bool check_only = false;
  cli.add_option("--config", config_path, "TOML configuration file (default: embedded defaults)");
  cli.add_flag("--check-config", check_only, "validate the configuration and exit");
  cli.set_version_flag("--version", MARKERWATCH_VERSION);
  CLI11_PARSE(cli, argc, argv);
  // A write past a file size limit (systemd's LimitFSIZE=, ulimit -f) would otherwise kill the
  // process with every message in flight; ignored, it fails like a full disk: the commit fails,
  // nothing is acknowledged, and the daemon serves again once the write fits.
  std::signal(SIGXFSZ, SIG_IGN);

  settings::Settings s;
  try {
    s = config_path.empty() ? settings::default_settings()
                            : settings::load_settings_file(config_path);
  } catch (const settings::ConfigError& e) {
    std::fprintf(stderr, "markerwatchd: config error: %s\n", e.what());
    return 2;
  }
  if (check_only) {
    // The TLS files as the start loads them: a key that does not match its certificate, a
    // damaged CRL, and the dates the running daemon would warn of.
    try {
      const auto tls = app::load_listener_tls(s);
      const app::ListenerTls contexts{tls.mllp ? tls.mllp->context : nullptr, tls.http};
      for (const auto& notice : app::tls_notices(contexts, unix_seconds(SystemClock())))
        std::fprintf(stderr, "markerwatchd: %s: %s\n", notice.lapsed ? "error" : "warning",
                     notice.line.c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "markerwatchd: config error: %s\n", e.what());
      return 2;
    }
    std::printf("configuration ok: %s\n", settings::describe(s).c_str());
    return 0;
  }
  app::setup_logging(s.log.level);
  try {
    return app::run_daemon(std::make_shared<const settings::Settings>(std::move(s)), config_path);
  } catch (const std::exception& e) {
    spdlog::critical("event=fatal error=\"{}\"", e.what());
    std::fprintf(stderr, "markerwatchd: %s\n", e.what());
    return 1;
  }
}
