// A configuration file as `markerwatchd --check-config` and every start read it. Properties:
// - parsing ends in settings or a ConfigError, nothing else;
// - a ConfigError names where: the file and a line ("config.toml:LINE"), or the key;
// - settings that load give an engine configuration (the rule book is built from them);
// - a reload of the same file changes nothing that needs a restart, and one from the embedded
//   defaults is refused exactly when a restart-only table differs from them (HTTPS: on or off).
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "settings/settings.hpp"

using namespace markerwatch;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto settings = settings::parse_settings(text, "config.toml");
    (void)settings::engine_config(settings);
    fuzz::require(settings::restart_only_changes(settings, settings).empty(),
                  "a reload of the same file would be refused");
    const auto defaults = settings::default_settings();
    const bool same_restart_tables =
        settings.storage == defaults.storage && settings.mllp == defaults.mllp &&
        settings.http.listen == defaults.http.listen &&
        settings.http.max_body_bytes == defaults.http.max_body_bytes &&
        settings.http.max_header_bytes == defaults.http.max_header_bytes &&
        settings.http.read_timeout_s == defaults.http.read_timeout_s &&
        settings.http.max_connections == defaults.http.max_connections &&
        settings.http.cert_file.empty() == defaults.http.cert_file.empty();
    fuzz::require(settings::restart_only_changes(defaults, settings).empty() == same_restart_tables,
                  "a reload refused, or let through, against what the restart-only keys say");
  } catch (const settings::ConfigError& e) {
    const std::string_view message = e.what();
    fuzz::require(message.starts_with("config.toml"), "a configuration error that names no file");
  }
  return 0;
}
