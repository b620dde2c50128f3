#pragma once
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "settings/settings.hpp"

namespace markerwatch::test {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::filesystem::path source_dir() {
  return MW_SOURCE_DIR;
}
inline std::filesystem::path shared_dir() {
  return MW_SHARED_DIR;
}

inline settings::Settings settings_from(const std::string& toml) {
  return settings::parse_settings(toml, "test.toml");
}

// Default settings with a deterministic zone.
inline settings::Settings utc_settings() {
  return settings_from("[ingest]\ndefault_timezone = \"UTC\"\n");
}

// A fresh temporary folder, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    auto base = std::filesystem::temp_directory_path();
    for (int i = 0;; ++i) {
      path_ = base / ("mw-test-" + std::to_string(::getpid()) + "-" + std::to_string(i));
      if (std::filesystem::create_directory(path_)) break;
    }
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace markerwatch::test
