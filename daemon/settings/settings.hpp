#pragma once
// The daemon's and CLI's configuration: TOML parsed into an immutable typed Settings, with the
// embedded defaults, strict key checking and errors that name the key and its line.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/markers.hpp"
#include "core/milestone_kinds.hpp"
#include "core/timestamp.hpp"
#include "engine/evaluate.hpp"
#include "engine/rule_book.hpp"

namespace markerwatch::settings {

class ConfigError : public Error {
 public:
  using Error::Error;
};

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
};
// "host:port" or "[v6]:port"; throws ConfigError naming `key`.
Endpoint parse_endpoint(const std::string& text, const std::string& key);

struct StorageSettings {
  std::string path = "var/markerwatch.db";
  bool synchronous_full = true;
  int commit_batch_max = 512;  // messages per group commit at most
  // The daemon's writer checkpoints (and so resets) the WAL once it holds this many pages.
  int wal_autocheckpoint_pages = 25000;
  // Room for the values of the series the writer keeps between evaluations (store::SeriesCache);
  // 0: none kept. None by default since schema 6 made reading a series one index range: in a
  // steady state the cache's misses and clears cost more than its hits saved (bench/README.md).
  int series_cache_values = 0;
  bool operator==(const StorageSettings&) const = default;
};

struct MllpSettings {
  Endpoint listen{"127.0.0.1", 2575};
  std::int64_t max_message_bytes = 1024 * 1024;
  int idle_timeout_s = 300;
  // MLLP over TLS: a handshake not done by then (or idle_timeout_s, if shorter) closes the
  // connection.
  int handshake_timeout_s = 30;
  int max_connections = 64;
  // MLLP over TLS: set cert_file and key_file and the listener speaks only TLS.
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;                // set: senders need a certificate one of these issued
  std::vector<std::string> allowed_clients;  // and, if any, one that names one of these
  std::string client_crl_file;               // set: and one not revoked by its issuer's CRL here
  bool operator==(const MllpSettings&) const = default;
};

// What a bearer token may do on the HTTP listener (issue #5).
// admin: may reload the configuration (POST /reload).
enum class Role : unsigned { ingest = 1, read = 2, review = 4, admin = 8 };
std::string_view to_string(Role r);
// 1-64 letters, digits, '.', '-' and '_'.
bool is_token_name(std::string_view name);

struct HttpToken {
  std::string name;
  std::string sha256;  // lowercase hex SHA-256 of the token
  unsigned roles = 0;  // Role bits
};

struct HttpSettings {
  Endpoint listen{"127.0.0.1", 8080};
  std::int64_t max_body_bytes = 10 * 1024 * 1024;
  int max_header_bytes = 16 * 1024;
  int read_timeout_s = 30;
  int max_connections = 64;
  std::string cert_file;  // PEM certificate (chain) for HTTPS; empty: plain HTTP
  std::string key_file;   // its PEM private key; set together with cert_file
  std::vector<HttpToken> tokens;
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

// How FHIR resources map to patients and milestones (INTEROP.md §3).
// [fhir.upstream]: the FHIR server whose rest-hook Subscription notifies markerwatch with empty
// pings (no payload); each ping makes markerwatch run `search` there and store what it finds.
struct FhirUpstreamSettings {
  std::string base_url;  // "" = off: an empty notification is refused
  std::string search;    // relative to base_url, e.g. "Observation?code=http://loinc.org|1834-1"
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Authorization
  bool tls_verify = true;
  std::string ca_file;
  int timeout_s = 30;   // per page
  int max_pages = 100;  // per run
  // 0 = off: runs follow notifications only. Else also one at the start and one this long after
  // the last run ended, so a notification lost (or a server that sends none) delays, never loses.
  int poll_every_s = 0;
  bool operator==(const FhirUpstreamSettings&) const = default;
};

struct FhirSettings {
  // Which Patient.identifier names the patient (its system URI); empty: the first with a value.
  std::string patient_identifier_system;
  // When set, a bare "Patient/<id>" reference is read as identifier <id> of this system.
  std::string reference_identifier_system;
  // Identifier system URI -> the assigning authority stored for the patient (so a FHIR feed and
  // an HL7 feed name one patient alike); an unmapped system is stored as the authority itself.
  std::map<std::string, std::string> authorities;
  // "SYSTEM|CODE" of a Procedure -> milestone kind.
  std::map<std::string, std::string> procedures{
      {"http://snomed.info/sct|367336001", "systemic_start"}};
  // "SYSTEM|CODE" of a medication -> the milestone kind its start gives (a kind ending in
  // "_start"; its "_stop" kind, when one exists, marks the end).
  std::map<std::string, std::string> medications;
  FhirUpstreamSettings upstream;
};

// One webhook receiver (issue #4, INTEROP.md §4).
enum class WebhookFormat { json, slack, alertmanager };
enum class PatientIdMode { id, pseudonym, none };

struct WebhookSettings {
  std::string name;
  std::string url;
  WebhookFormat format = WebhookFormat::json;
  std::string secret;                // "whsec_" + base64; required for json
  std::vector<std::string> events;   // new, update, update_severity, resolve, retract, suppressed
  std::vector<std::string> markers;  // canonical names; empty = every marker
  std::string min_severity = "standard";
  int timeout_s = 15;
  std::vector<int> retry_schedule{0, 5, 300, 1800, 7200, 18000, 36000, 36000};  // seconds
  std::vector<std::pair<std::string, std::string>> headers;
  PatientIdMode patient_id = PatientIdMode::id;
  bool tls_verify = true;
  std::string ca_file;
  bool operator==(const WebhookSettings&) const = default;
};

struct NotifySettings {
  int max_age_days = 30;      // 0 = no limit
  int renotify_after_s = 0;   // 0 = off
  std::string pseudonym_key;  // HMAC key for patient_id = "pseudonym"
  int max_in_flight = 4;      // concurrent requests per receiver
  bool operator==(const NotifySettings&) const = default;
};

struct Settings {
  std::string source = "(embedded defaults)";
  StorageSettings storage;
  MllpSettings mllp;
  HttpSettings http;
  LogSettings log;
  IngestSettings ingest;
  FhirSettings fhir;
  MarkerCatalog markers = MarkerCatalog::builtin();
  MilestoneKinds milestone_kinds = MilestoneKinds::builtin();
  engine::RuleBook rules = engine::RuleBook::builtin();
  NotifySettings notify;
  std::vector<WebhookSettings> webhooks;
  std::shared_ptr<const ZoneRules> zone;  // resolved default_timezone
};

// The receiver named `name`, or nullptr.
const WebhookSettings* find_webhook(const Settings& s, std::string_view name);
// What the engine reads from the settings.
engine::EngineConfig engine_config(const Settings& s);

// The keys whose values differ between `running` and `next` and that a running daemon cannot
// take up (listeners, storage, webhook delivery): a reload with any of them is refused whole.
// Empty when `next` may replace `running` (markers, rules, milestone kinds, [ingest], [fhir],
// [log], the HTTP tokens, the HTTPS certificate and key).
std::vector<std::string> restart_only_changes(const Settings& running, const Settings& next);

Settings default_settings();
// Throws ConfigError "<file>:<line>:<col>: <key>: <reason>".
Settings load_settings_file(const std::string& path);
Settings parse_settings(std::string_view toml_text, const std::string& source_name);

// Resolves "UTC", "localtime", a fixed offset ("+01:00") or an IANA zone name.
std::shared_ptr<const ZoneRules> make_zone(const std::string& name);

// A readable dump of the effective settings; secrets, webhook URLs' credentials and header values
// never appear in it.
std::string describe(const Settings& s);
// A URL's scheme and host only, for logs: a Slack URL is itself the credential, and so is a
// user:password@ before the host.
std::string url_origin(const std::string& url);

}  // namespace markerwatch::settings
