#pragma once
// The daemon's and CLI's configuration: TOML parsed into an immutable typed Settings, with the
// embedded defaults, strict key checking and errors that name the key and its line.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/markers.hpp"
#include "core/milestone_kinds.hpp"
#include "core/timestamp.hpp"
#include "engine/rule_book.hpp"

namespace markerwatch::settings {

class ConfigError : public Error {
 public:
  using Error::Error;
};

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};
// "host:port" or "[v6]:port"; throws ConfigError naming `key`.
Endpoint parse_endpoint(const std::string& text, const std::string& key);

struct StorageSettings {
  std::string path = "var/markerwatch.db";
  bool synchronous_full = true;
  int commit_batch_max = 512;  // messages per group commit at most
};

struct MllpSettings {
  Endpoint listen{"127.0.0.1", 2575};
  std::int64_t max_message_bytes = 1024 * 1024;
  int idle_timeout_s = 300;
  int max_connections = 64;
};

struct LogSettings {
  std::string level = "info";
};

struct IngestSettings {
  std::string default_timezone = "localtime";
  std::vector<std::string> accept_processing_ids{"P"};
  std::string patient_id_type;
  std::string patient_id_authority;
};

struct Settings {
  std::string source = "(embedded defaults)";
  StorageSettings storage;
  MllpSettings mllp;
  LogSettings log;
  IngestSettings ingest;
  MarkerCatalog markers = MarkerCatalog::builtin();
  MilestoneKinds milestone_kinds = MilestoneKinds::builtin();
  engine::RuleBook rules = engine::RuleBook::builtin();
  std::shared_ptr<const ZoneRules> zone;  // resolved default_timezone
};

Settings default_settings();
// Throws ConfigError "<file>:<line>:<col>: <key>: <reason>".
Settings load_settings_file(const std::string& path);
Settings parse_settings(std::string_view toml_text, const std::string& source_name);

// Resolves "UTC", "localtime", a fixed offset ("+01:00") or an IANA zone name.
std::shared_ptr<const ZoneRules> make_zone(const std::string& name);

// A readable dump of the effective settings (no secrets exist yet; later ones are redacted).
std::string describe(const Settings& s);

}  // namespace markerwatch::settings
