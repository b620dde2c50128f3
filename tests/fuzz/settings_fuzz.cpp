// A configuration file as `markerwatchd --check-config` and every start read it. Properties:
// - parsing ends in settings or a ConfigError, nothing else;
// - a ConfigError names where: the file and a line ("config.toml:LINE"), or the key;
// - settings that load give an engine configuration (the rule book is built from them).
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
  } catch (const settings::ConfigError& e) {
    const std::string_view message = e.what();
    fuzz::require(message.starts_with("config.toml"), "a configuration error that names no file");
  }
  return 0;
}
