#include "settings/settings.hpp"

#include <date/tz.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <tuple>

#include "core/duration.hpp"
#include "core/numeric_value.hpp"
#include "core/text.hpp"

namespace markerwatch::settings {

namespace {

constexpr std::size_t kMaxConfigBytes = 4 * 1024 * 1024;

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const toml::node& node, const std::string& key,
                         const std::string& reason) const {
    const auto& where = node.source().begin;
    throw ConfigError(source_ + ":" + std::to_string(where.line) + ":" +
                      std::to_string(where.column) + ": " + key + ": " + reason);
  }

  // Every key of the table must be one this table knows.
  void check_keys(const toml::table& t, const std::string& prefix,
                  std::initializer_list<std::string_view> known) const {
    for (auto&& [k, v] : t) {
      bool ok = false;
      for (auto name : known) ok = ok || k.str() == name;
      if (!ok) fail(v, prefix + std::string(k.str()), "unknown key");
    }
  }

  const toml::table* table(const toml::table& parent, std::string_view name,
                           const std::string& key) const {
    auto* node = parent.get(name);
    if (!node) return nullptr;
    if (!node->is_table()) fail(*node, key, "must be a table");
    return node->as_table();
  }

  std::string string(const toml::node& n, const std::string& key,
                     std::size_t max_len = 4096) const {
    if (!n.is_string()) fail(n, key, "must be a string");
    const auto& s = n.as_string()->get();
    if (s.size() > max_len)
      fail(n, key, "is longer than " + std::to_string(max_len) + " characters");
    return s;
  }

  std::int64_t integer(const toml::node& n, const std::string& key, std::int64_t min,
                       std::int64_t max) const {
    if (!n.is_integer()) fail(n, key, "must be an integer");
    auto v = n.as_integer()->get();
    if (v < min || v > max)
      fail(n, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return v;
  }

  bool boolean(const toml::node& n, const std::string& key) const {
    if (!n.is_boolean()) fail(n, key, "must be true or false");
    return n.as_boolean()->get();
  }

  double number(const toml::node& n, const std::string& key, double min, double max) const {
    double v = 0;
    if (n.is_integer())
      v = static_cast<double>(n.as_integer()->get());
    else if (n.is_floating_point())
      v = n.as_floating_point()->get();
    else
      fail(n, key, "must be a number");
    if (!(v >= min && v <= max)) {
      std::ostringstream range;
      range << "must be between " << min << " and " << max;
      fail(n, key, range.str());
    }
    return v;
  }

  Endpoint endpoint(const toml::node& n, const std::string& key) const {
    try {
      return parse_endpoint(string(n, key), key);
    } catch (const ConfigError& e) {
      fail(n, key, e.what());
    }
  }

  std::vector<std::string> strings(const toml::node& n, const std::string& key) const {
    if (!n.is_array()) fail(n, key, "must be an array of strings");
    std::vector<std::string> out;
    for (auto&& item : *n.as_array()) out.push_back(string(item, key));
    return out;
  }

 private:
  std::string source_;
};

void read_storage(const Reader& r, const toml::table& t, StorageSettings& s) {
  r.check_keys(t, "storage.",
               {"path", "synchronous", "commit_batch_max", "wal_autocheckpoint_pages",
                "series_cache_values"});
  if (auto* n = t.get("path")) {
    s.path = r.string(*n, "storage.path");
    if (s.path.empty()) r.fail(*n, "storage.path", "must not be empty");
  }
  if (auto* n = t.get("synchronous")) {
    auto v = r.string(*n, "storage.synchronous");
    if (v != "full" && v != "normal")
      r.fail(*n, "storage.synchronous", "must be \"full\" or \"normal\"");
    s.synchronous_full = v == "full";
  }
  if (auto* n = t.get("commit_batch_max"))
    s.commit_batch_max = static_cast<int>(r.integer(*n, "storage.commit_batch_max", 1, 100000));
  if (auto* n = t.get("wal_autocheckpoint_pages"))
    s.wal_autocheckpoint_pages =
        static_cast<int>(r.integer(*n, "storage.wal_autocheckpoint_pages", 100, 1000000));
  if (auto* n = t.get("series_cache_values"))
    s.series_cache_values =
        static_cast<int>(r.integer(*n, "storage.series_cache_values", 0, 16777216));
}

// Files are checked when the configuration is read, not at the first connection that needs them.
void require_readable(const Reader& r, const toml::node* node, const std::string& key,
                      const std::string& path) {
  if (!path.empty() && !std::ifstream(path)) r.fail(*node, key, "cannot read '" + path + "'");
}

// HTTP headers that markerwatch sends (webhooks, the upstream FHIR server): a table of
// name = value.
std::vector<std::pair<std::string, std::string>> read_headers(const Reader& r, const toml::node& n,
                                                              const std::string& key) {
  if (!n.is_table()) r.fail(n, key, "must be a table of name = value");
  std::vector<std::pair<std::string, std::string>> headers;
  for (auto&& [k, v] : *n.as_table()) {
    const std::string header(k.str());
    const auto value = r.string(v, key + "." + header, 4096);
    if (header.empty() || header.find_first_of(":\r\n ") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos)
      r.fail(v, key + "." + header, "is not a valid header");
    headers.emplace_back(header, value);
  }
  return headers;
}

// A listener's cert_file and key_file: both or neither.
void read_certificate(const Reader& r, const toml::table& t, const std::string& section,
                      std::string& cert_file, std::string& key_file) {
  const auto* cert = t.get("cert_file");
  const auto* key = t.get("key_file");
  const auto cert_key = section + ".cert_file", key_key = section + ".key_file";
  if (cert) cert_file = r.string(*cert, cert_key, 1024);
  if (key) key_file = r.string(*key, key_key, 1024);
  if (cert_file.empty() != key_file.empty())
    r.fail(cert ? *cert : *key, cert_file.empty() ? cert_key : key_key,
           "is required when " + (cert_file.empty() ? key_key : cert_key) + " is set");
  for (const auto& [node, value, name] :
       {std::tuple{cert, cert_file, cert_key}, std::tuple{key, key_file, key_key}})
    require_readable(r, node, name, value);
}

// A file that only means something on top of another key (a CA file on top of a certificate,
// a CRL file on top of a CA file): refused, with the key it needs, when that key is not set.
void read_file_on_top_of(const Reader& r, const toml::table& t, const std::string& section,
                         std::string_view name, std::string& path, bool base_is_set,
                         std::string_view needs) {
  const auto* node = t.get(name);
  if (!node) return;
  const auto key = section + "." + std::string(name);
  path = r.string(*node, key, 1024);
  if (!path.empty() && !base_is_set) r.fail(*node, key, std::string(needs));
  require_readable(r, node, key, path);
}

// A name a client certificate may carry: a DNS name or a CN of the same letters.
bool is_certificate_name(std::string_view name) {
  return text::is_name(name, 253);
}

void read_mllp(const Reader& r, const toml::table& t, MllpSettings& s) {
  r.check_keys(
      t, "mllp.",
      {"listen", "max_message_bytes", "idle_timeout_s", "handshake_timeout_s", "max_connections",
       "cert_file", "key_file", "client_ca_file", "allowed_clients", "client_crl_file"});
  read_certificate(r, t, "mllp", s.cert_file, s.key_file);
  read_file_on_top_of(r, t, "mllp", "client_ca_file", s.client_ca_file, !s.cert_file.empty(),
                      "needs mllp.cert_file and mllp.key_file (MLLP over TLS)");
  if (auto* n = t.get("allowed_clients")) {
    s.allowed_clients = r.strings(*n, "mllp.allowed_clients");
    if (!s.allowed_clients.empty() && s.client_ca_file.empty())
      r.fail(*n, "mllp.allowed_clients",
             "needs mllp.client_ca_file: names are only trusted in a verified certificate");
    for (const auto& name : s.allowed_clients)
      if (!is_certificate_name(name))
        r.fail(*n, "mllp.allowed_clients",
               "'" + text::printable(name, 64) +
                   "' is not a certificate name (letters, digits, '.', '-' and '_', 1-253)");
  }
  read_file_on_top_of(r, t, "mllp", "client_crl_file", s.client_crl_file, !s.client_ca_file.empty(),
                      "needs mllp.client_ca_file: revocation applies to verified certificates");
  if (auto* n = t.get("listen")) s.listen = r.endpoint(*n, "mllp.listen");
  if (auto* n = t.get("max_message_bytes"))
    s.max_message_bytes = r.integer(*n, "mllp.max_message_bytes", 1024, 256LL * 1024 * 1024);
  if (auto* n = t.get("idle_timeout_s"))
    s.idle_timeout_s = static_cast<int>(r.integer(*n, "mllp.idle_timeout_s", 1, 86400));
  if (auto* n = t.get("handshake_timeout_s"))
    s.handshake_timeout_s = static_cast<int>(r.integer(*n, "mllp.handshake_timeout_s", 1, 3600));
  if (auto* n = t.get("max_connections"))
    s.max_connections = static_cast<int>(r.integer(*n, "mllp.max_connections", 1, 10000));
}

void read_http(const Reader& r, const toml::table& t, HttpSettings& s) {
  r.check_keys(t, "http.",
               {"listen", "max_body_bytes", "max_header_bytes", "read_timeout_s", "max_connections",
                "cert_file", "key_file", "tokens"});
  read_certificate(r, t, "http", s.cert_file, s.key_file);
  if (auto* n = t.get("listen")) s.listen = r.endpoint(*n, "http.listen");
  if (auto* n = t.get("max_body_bytes"))
    s.max_body_bytes = r.integer(*n, "http.max_body_bytes", 1024, 1024LL * 1024 * 1024);
  if (auto* n = t.get("max_header_bytes"))
    s.max_header_bytes =
        static_cast<int>(r.integer(*n, "http.max_header_bytes", 1024, 1024 * 1024));
  if (auto* n = t.get("read_timeout_s"))
    s.read_timeout_s = static_cast<int>(r.integer(*n, "http.read_timeout_s", 1, 3600));
  if (auto* n = t.get("max_connections"))
    s.max_connections = static_cast<int>(r.integer(*n, "http.max_connections", 1, 10000));
  auto* tokens = t.get("tokens");
  if (!tokens) return;
  if (!tokens->is_array_of_tables())
    r.fail(*tokens, "http.tokens", "must be an array of tables ([[http.tokens]])");
  std::size_t index = 0;
  for (auto&& node : *tokens->as_array()) {
    const auto prefix = "http.tokens[" + std::to_string(index++) + "].";
    const auto& tt = *node.as_table();
    r.check_keys(tt, prefix, {"name", "sha256", "roles"});
    HttpToken token;
    auto* name = tt.get("name");
    if (!name) r.fail(tt, prefix + "name", "is required");
    token.name = r.string(*name, prefix + "name", 64);
    if (!is_token_name(token.name))
      r.fail(*name, prefix + "name", "use letters, digits, '.', '-' and '_' only");
    for (const auto& other : s.tokens)
      if (other.name == token.name) r.fail(*name, prefix + "name", "is used by another token");
    auto* hash = tt.get("sha256");
    if (!hash) r.fail(tt, prefix + "sha256", "is required (markerwatch token new prints it)");
    token.sha256 = r.string(*hash, prefix + "sha256", 64);
    if (token.sha256.size() != 64 ||
        !std::all_of(token.sha256.begin(), token.sha256.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
        }))
      r.fail(*hash, prefix + "sha256", "must be 64 lowercase hex digits (the token's SHA-256)");
    auto* roles = tt.get("roles");
    if (!roles) r.fail(tt, prefix + "roles", "is required (any of ingest, read, review, admin)");
    for (const auto& role : r.strings(*roles, prefix + "roles")) {
      if (role == "ingest")
        token.roles |= static_cast<unsigned>(Role::ingest);
      else if (role == "read")
        token.roles |= static_cast<unsigned>(Role::read);
      else if (role == "review")
        token.roles |= static_cast<unsigned>(Role::review);
      else if (role == "admin")
        token.roles |= static_cast<unsigned>(Role::admin);
      else
        r.fail(*roles, prefix + "roles", "entries must be ingest, read, review or admin");
    }
    if (token.roles == 0) r.fail(*roles, prefix + "roles", "must name at least one role");
    s.tokens.push_back(std::move(token));
  }
}

void read_log(const Reader& r, const toml::table& t, LogSettings& s) {
  r.check_keys(t, "log.", {"level"});
  if (auto* n = t.get("level")) {
    auto v = r.string(*n, "log.level");
    static const std::vector<std::string> levels = {"trace", "debug",    "info", "warn",
                                                    "error", "critical", "off"};
    if (std::find(levels.begin(), levels.end(), v) == levels.end())
      r.fail(*n, "log.level", "must be one of trace, debug, info, warn, error, critical, off");
    s.level = v;
  }
}

void read_ingest(const Reader& r, const toml::table& t, IngestSettings& s) {
  r.check_keys(
      t, "ingest.",
      {"default_timezone", "accept_processing_ids", "patient_id_type", "patient_id_authority"});
  if (auto* n = t.get("default_timezone")) {
    s.default_timezone = r.string(*n, "ingest.default_timezone", 64);
    try {
      make_zone(s.default_timezone);
    } catch (const ConfigError& e) {
      r.fail(*n, "ingest.default_timezone", e.what());
    }
  }
  if (auto* n = t.get("accept_processing_ids")) {
    s.accept_processing_ids = r.strings(*n, "ingest.accept_processing_ids");
    for (const auto& id : s.accept_processing_ids)
      if (id != "P" && id != "T" && id != "D")
        r.fail(*n, "ingest.accept_processing_ids", "entries must be \"P\", \"T\" or \"D\"");
    if (s.accept_processing_ids.empty())
      r.fail(*n, "ingest.accept_processing_ids", "must not be empty");
  }
  if (auto* n = t.get("patient_id_type"))
    s.patient_id_type = r.string(*n, "ingest.patient_id_type", 20);
  if (auto* n = t.get("patient_id_authority"))
    s.patient_id_authority = r.string(*n, "ingest.patient_id_authority", 200);
}

// A table of "SYSTEM|CODE" = milestone kind, for [fhir.procedures] and [fhir.medications].
std::map<std::string, std::string> read_code_kinds(const Reader& r, const toml::node& n,
                                                   const std::string& key,
                                                   const MilestoneKinds& kinds,
                                                   bool start_kinds_only) {
  if (!n.is_table()) r.fail(n, key, "must be a table of \"SYSTEM|CODE\" = \"kind\"");
  std::map<std::string, std::string> out;
  for (auto&& [code, kind_node] : *n.as_table()) {
    const auto entry_key = key + ".\"" + std::string(code.str()) + "\"";
    const auto bar = code.str().find('|');
    if (bar == std::string_view::npos || bar == 0 || bar + 1 == code.str().size())
      r.fail(kind_node, entry_key, "the key must be \"SYSTEM|CODE\"");
    auto kind = r.string(kind_node, entry_key, 64);
    if (!kinds.role(kind)) r.fail(kind_node, entry_key, "unknown milestone kind '" + kind + "'");
    if (start_kinds_only && !kind.ends_with("_start"))
      r.fail(kind_node, entry_key, "must be a milestone kind ending in _start");
    out[std::string(code.str())] = kind;
  }
  return out;
}

// "off", or a duration of one second to a year ("30m", "12h", "2d").
int duration_or_off(const Reader& r, const toml::node& n, const std::string& key) {
  const auto text = r.string(n, key, 20);
  if (text == "off") return 0;
  const auto seconds = parse_duration_seconds(text);
  if (!seconds || *seconds < 1 || *seconds > 365 * 86400)
    r.fail(n, key,
           "must be \"off\" or a duration such as \"30m\", \"12h\" or \"2d\" (at most 365d)");
  return static_cast<int>(*seconds);
}

void read_fhir_upstream(const Reader& r, const toml::node& node, FhirUpstreamSettings& s) {
  if (!node.is_table()) r.fail(node, "fhir.upstream", "must be a table");
  const auto& t = *node.as_table();
  r.check_keys(t, "fhir.upstream.",
               {"base_url", "search", "headers", "tls_verify", "ca_file", "timeout_s", "max_pages",
                "poll_every"});
  auto* base = t.get("base_url");
  if (!base) r.fail(t, "fhir.upstream.base_url", "is required");
  s.base_url = r.string(*base, "fhir.upstream.base_url", 1024);
  while (s.base_url.ends_with('/')) s.base_url.pop_back();
  if (!s.base_url.starts_with("http://") && !s.base_url.starts_with("https://"))
    r.fail(*base, "fhir.upstream.base_url", "must start with http:// or https://");
  if (s.base_url.find_first_of("?# ") != std::string::npos)
    r.fail(*base, "fhir.upstream.base_url", "is the server's base: no query, fragment or space");
  auto* search = t.get("search");
  if (!search) r.fail(t, "fhir.upstream.search", "is required");
  s.search = r.string(*search, "fhir.upstream.search", 2048);
  const auto type_end = s.search.find('?');
  const auto type = std::string_view(s.search).substr(0, type_end);
  if (type.empty() ||
      !std::all_of(type.begin(), type.end(),
                   [](char c) { return std::isalpha(static_cast<unsigned char>(c)); }) ||
      s.search.find_first_of("# \r\n") != std::string::npos)
    r.fail(
        *search, "fhir.upstream.search",
        "must be a search relative to base_url, e.g. \"Observation?code=http://loinc.org|1834-1\"");
  if (auto* n = t.get("headers")) s.headers = read_headers(r, *n, "fhir.upstream.headers");
  if (auto* n = t.get("tls_verify")) s.tls_verify = r.boolean(*n, "fhir.upstream.tls_verify");
  if (auto* n = t.get("ca_file")) {
    s.ca_file = r.string(*n, "fhir.upstream.ca_file", 1024);
    require_readable(r, n, "fhir.upstream.ca_file", s.ca_file);
  }
  if (auto* n = t.get("timeout_s"))
    s.timeout_s = static_cast<int>(r.integer(*n, "fhir.upstream.timeout_s", 1, 600));
  if (auto* n = t.get("max_pages"))
    s.max_pages = static_cast<int>(r.integer(*n, "fhir.upstream.max_pages", 1, 100000));
  if (auto* n = t.get("poll_every"))
    s.poll_every_s = duration_or_off(r, *n, "fhir.upstream.poll_every");
}

void read_fhir(const Reader& r, const toml::table& t, FhirSettings& s,
               const MilestoneKinds& kinds) {
  r.check_keys(t, "fhir.",
               {"patient_identifier_system", "reference_identifier_system", "authorities",
                "procedures", "medications", "upstream"});
  if (auto* n = t.get("patient_identifier_system"))
    s.patient_identifier_system = r.string(*n, "fhir.patient_identifier_system", 500);
  if (auto* n = t.get("reference_identifier_system"))
    s.reference_identifier_system = r.string(*n, "fhir.reference_identifier_system", 500);
  if (auto* n = t.get("authorities")) {
    if (!n->is_table())
      r.fail(*n, "fhir.authorities", "must be a table of \"system\" = \"authority\"");
    for (auto&& [system, authority] : *n->as_table())
      s.authorities[std::string(system.str())] =
          r.string(authority, "fhir.authorities.\"" + std::string(system.str()) + "\"", 200);
  }
  // Added to the built-in maps (an entry for the same code replaces it).
  if (auto* n = t.get("procedures"))
    for (auto& [code, kind] : read_code_kinds(r, *n, "fhir.procedures", kinds, false))
      s.procedures[code] = kind;
  if (auto* n = t.get("medications"))
    for (auto& [code, kind] : read_code_kinds(r, *n, "fhir.medications", kinds, true))
      s.medications[code] = kind;
  if (auto* n = t.get("upstream")) read_fhir_upstream(r, *n, s.upstream);
}

// "off" or a number in [min, max].
std::optional<double> number_or_off(const Reader& r, const toml::node& n, const std::string& key,
                                    double min, double max) {
  if (n.is_string()) {
    if (n.as_string()->get() == "off") return std::nullopt;
    r.fail(n, key, "must be a number or \"off\"");
  }
  return r.number(n, key, min, max);
}

int days(const Reader& r, const toml::node& n, const std::string& key, int min = 0) {
  return static_cast<int>(r.integer(n, key, min, 3650));
}

// A rule: "off", or an inline table whose keys override the current (or default) parameters.
template <typename Rule, typename Fill>
void read_rule(const Reader& r, const toml::table& t, std::string_view name,
               const std::string& prefix, std::optional<Rule>& rule, Fill fill) {
  auto* n = t.get(name);
  if (!n) return;
  const auto key = prefix + std::string(name);
  if (n->is_string()) {
    if (n->as_string()->get() != "off") r.fail(*n, key, "must be \"off\" or a table");
    rule.reset();
    return;
  }
  if (!n->is_table()) r.fail(*n, key, "must be \"off\" or a table");
  Rule value = rule.value_or(Rule{});
  fill(*n->as_table(), key + ".", value);
  rule = value;
}

const std::initializer_list<std::string_view> kRuleKeys = {"rise",
                                                           "renorm",
                                                           "abs",
                                                           "half_life_days",
                                                           "nonorm_confirm_days",
                                                           "doubling_time_high_days",
                                                           "flare_guard_days",
                                                           "vka_suppressor"};

void read_rule_params(const Reader& r, const toml::table& t, const std::string& prefix,
                      engine::RuleParams& p) {
  read_rule(r, t, "rise", prefix, p.rise,
            [&](const toml::table& rt, const std::string& k, engine::RiseRule& rule) {
              r.check_keys(rt, k, {"pct", "abs", "confirm_days", "only_if_never_normalized"});
              if (auto* n = rt.get("pct")) rule.pct = r.number(*n, k + "pct", 0, 100000);
              if (auto* n = rt.get("abs")) rule.abs = r.number(*n, k + "abs", 0, 1e12);
              if (auto* n = rt.get("confirm_days"))
                rule.confirm_days = days(r, *n, k + "confirm_days");
              if (auto* n = rt.get("only_if_never_normalized"))
                rule.only_if_never_normalized = r.boolean(*n, k + "only_if_never_normalized");
            });
  read_rule(r, t, "renorm", prefix, p.renorm,
            [&](const toml::table& rt, const std::string& k, engine::RenormRule& rule) {
              r.check_keys(rt, k, {"k", "confirm_days"});
              if (auto* n = rt.get("k")) rule.k = r.number(*n, k + "k", 0.001, 1000);
              if (auto* n = rt.get("confirm_days"))
                rule.confirm_days = days(r, *n, k + "confirm_days");
            });
  read_rule(r, t, "abs", prefix, p.absolute,
            [&](const toml::table& rt, const std::string& k, engine::AbsRule& rule) {
              r.check_keys(rt, k, {"threshold", "confirm_days"});
              auto* threshold = rt.get("threshold");
              if (threshold)
                rule.threshold = r.number(*threshold, k + "threshold", 1e-12, 1e12);
              else if (rule.threshold <= 0)
                r.fail(rt, k + "threshold", "is required");
              if (auto* n = rt.get("confirm_days"))
                rule.confirm_days = days(r, *n, k + "confirm_days");
            });
  if (auto* n = t.get("half_life_days"))
    p.half_life_days = number_or_off(r, *n, prefix + "half_life_days", 0.1, 3650);
  if (auto* n = t.get("nonorm_confirm_days"))
    p.nonorm_confirm_days = days(r, *n, prefix + "nonorm_confirm_days");
  if (auto* n = t.get("doubling_time_high_days"))
    p.doubling_time_high_days = number_or_off(r, *n, prefix + "doubling_time_high_days", 1, 36500);
  if (auto* n = t.get("flare_guard_days"))
    p.flare_guard_days = days(r, *n, prefix + "flare_guard_days");
  if (auto* n = t.get("vka_suppressor"))
    p.vka_suppressor = r.boolean(*n, prefix + "vka_suppressor");
}

void read_profiles(const Reader& r, const toml::table& t, const std::string& prefix,
                   const MilestoneKinds& kinds, engine::MarkerRules& rules) {
  for (auto&& [kind_key, node] : t) {
    const std::string kind(kind_key.str());
    const auto key = prefix + kind;
    if (!node.is_table()) r.fail(node, key, "must be a table");
    auto role = kinds.role(kind);
    if (!role || *role == MilestoneRole::context)
      r.fail(node, key, "'" + kind + "' is not an anchor milestone kind");
    const auto& pt = *node.as_table();
    std::vector<std::string_view> known(kRuleKeys);
    known.push_back("uln");
    for (auto&& [k, v] : pt)
      if (std::find(known.begin(), known.end(), k.str()) == known.end())
        r.fail(v, key + "." + std::string(k.str()), "unknown key");
    auto [it, created] = rules.profiles.try_emplace(kind, rules.base);
    auto& p = it->second;
    if (auto* n = pt.get("uln")) {
      if (n->is_string() && n->as_string()->get() == "none") {
        p.uln_source = engine::UlnSource::none;
      } else if (n->is_string() && n->as_string()->get() == "results") {
        p.uln_source = engine::UlnSource::results;
      } else {
        p.uln_source = engine::UlnSource::fixed;
        p.fixed_uln = r.number(*n, key + ".uln", 0, 1e12);
      }
    }
    read_rule_params(r, pt, key + ".", p);
  }
}

void read_marker(const Reader& r, const std::string& name, const toml::table& t, Settings& s) {
  auto& catalog = s.markers;
  const std::string prefix = "markers." + name + ".";
  std::vector<std::string_view> known = {"canonical_unit", "aliases", "loinc",   "local_codes",
                                         "units",          "uln",     "profiles"};
  known.insert(known.end(), kRuleKeys.begin(), kRuleKeys.end());
  for (auto&& [k, v] : t)
    if (std::find(known.begin(), known.end(), k.str()) == known.end())
      r.fail(v, prefix + std::string(k.str()), "unknown key");
  MarkerDefinition def;
  if (auto* existing = catalog.find_mutable(name)) {
    def = *existing;
  } else {
    def.name = name;
    if (!t.get("canonical_unit") || !t.get("uln"))
      r.fail(t, "markers." + name, "is not a built-in marker, so it needs canonical_unit and uln");
  }
  if (auto* n = t.get("canonical_unit")) {
    auto unit = r.string(*n, prefix + "canonical_unit", 40);
    if (catalog.find_mutable(name) && unit != def.canonical_unit)
      r.fail(*n, prefix + "canonical_unit",
             "the canonical unit of a built-in marker cannot change (it is " + def.canonical_unit +
                 ")");
    def.canonical_unit = unit;
    def.unit_factors.emplace(unit, 1.0);
  }
  if (auto* n = t.get("uln")) def.uln = r.number(*n, prefix + "uln", 0.0, 1e12);
  if (auto* n = t.get("aliases"))
    for (auto& a : r.strings(*n, prefix + "aliases")) def.aliases.push_back(a);
  if (auto* n = t.get("loinc"))
    for (auto& c : r.strings(*n, prefix + "loinc")) def.loinc_codes.push_back(c);
  if (auto* n = t.get("local_codes"))
    for (auto& c : r.strings(*n, prefix + "local_codes")) {
      auto bar = c.find('|');
      LocalCode lc = bar == std::string::npos ? LocalCode{"", c}
                                              : LocalCode{c.substr(0, bar), c.substr(bar + 1)};
      if (lc.code.empty()) r.fail(*n, prefix + "local_codes", "entry '" + c + "' has no code");
      def.local_codes.push_back(lc);
    }
  if (auto* n = t.get("units")) {
    if (!n->is_table()) r.fail(*n, prefix + "units", "must be a table of unit = factor");
    for (auto&& [unit, factor] : *n->as_table())
      def.unit_factors[std::string(unit.str())] =
          r.number(factor, prefix + "units." + std::string(unit.str()), 1e-12, 1e12);
  }
  catalog.put(std::move(def));
  auto& rules = s.rules.marker_mutable(name);
  read_rule_params(r, t, prefix, rules.base);
  if (auto* n = t.get("profiles")) {
    if (!n->is_table()) r.fail(*n, prefix + "profiles", "must be a table of anchor kinds");
    read_profiles(r, *n->as_table(), prefix + "profiles.", s.milestone_kinds, rules);
  }
}

void read_milestone_kinds(const Reader& r, const toml::table& t, MilestoneKinds& kinds) {
  for (auto&& [kind_key, node] : t) {
    const std::string kind(kind_key.str());
    const auto key = "milestone_kinds." + kind;
    if (kind.empty() || kind.size() > 64 || !std::all_of(kind.begin(), kind.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        }))
      r.fail(node, key, "kind names use a-z, 0-9 and _ only");
    const auto role = r.string(node, key, 20);
    if (role == "anchor")
      kinds.put(kind, MilestoneRole::anchor);
    else if (role == "curative")
      kinds.put(kind, MilestoneRole::curative_anchor);
    else if (role == "context")
      kinds.put(kind, MilestoneRole::context);
    else
      r.fail(node, key, "must be \"anchor\", \"curative\" or \"context\"");
  }
}

void read_notify(const Reader& r, const toml::table& t, NotifySettings& s) {
  r.check_keys(t, "notify.", {"max_age_days", "renotify_after", "pseudonym_key", "max_in_flight"});
  if (auto* n = t.get("max_age_days"))
    s.max_age_days = static_cast<int>(r.integer(*n, "notify.max_age_days", 0, 36500));
  if (auto* n = t.get("renotify_after"))
    s.renotify_after_s = duration_or_off(r, *n, "notify.renotify_after");
  if (auto* n = t.get("pseudonym_key")) {
    s.pseudonym_key = r.string(*n, "notify.pseudonym_key", 512);
    if (!s.pseudonym_key.empty() && s.pseudonym_key.size() < 16)
      r.fail(*n, "notify.pseudonym_key", "must be at least 16 characters");
  }
  if (auto* n = t.get("max_in_flight"))
    s.max_in_flight = static_cast<int>(r.integer(*n, "notify.max_in_flight", 1, 64));
}

const std::vector<std::string> kWebhookEvents = {"new",     "update",  "update_severity",
                                                 "resolve", "retract", "suppressed"};

void read_webhook(const Reader& r, const toml::node& node, std::size_t index,
                  const Settings& settings, WebhookSettings& w) {
  const auto prefix = "webhooks[" + std::to_string(index) + "].";
  if (!node.is_table()) r.fail(node, "webhooks[" + std::to_string(index) + "]", "must be a table");
  const auto& t = *node.as_table();
  r.check_keys(t, prefix,
               {"name", "url", "format", "secret", "events", "markers", "min_severity", "timeout_s",
                "retry_schedule", "headers", "patient_id", "tls_verify", "ca_file"});
  auto* name = t.get("name");
  if (!name) r.fail(t, prefix + "name", "is required");
  w.name = r.string(*name, prefix + "name", 64);
  if (w.name.empty() || !std::all_of(w.name.begin(), w.name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      }))
    r.fail(*name, prefix + "name", "use letters, digits, - and _ only");
  auto* url = t.get("url");
  if (!url) r.fail(t, prefix + "url", "is required");
  w.url = r.string(*url, prefix + "url", 2048);
  if (!w.url.starts_with("http://") && !w.url.starts_with("https://"))
    r.fail(*url, prefix + "url", "must start with http:// or https://");
  if (auto* n = t.get("format")) {
    const auto f = r.string(*n, prefix + "format", 20);
    if (f == "json")
      w.format = WebhookFormat::json;
    else if (f == "slack")
      w.format = WebhookFormat::slack;
    else if (f == "alertmanager")
      w.format = WebhookFormat::alertmanager;
    else
      r.fail(*n, prefix + "format", "must be \"json\", \"slack\" or \"alertmanager\"");
  }
  if (auto* n = t.get("secret")) {
    w.secret = r.string(*n, prefix + "secret", 200);
    if (!w.secret.starts_with("whsec_") || w.secret.size() < 6 + 32)
      r.fail(*n, prefix + "secret", "must be \"whsec_\" followed by base64 of 24-64 random bytes");
  }
  if (w.format == WebhookFormat::json && w.secret.empty())
    r.fail(t, prefix + "secret", "is required for format \"json\"");
  w.events = {"new", "update_severity", "resolve", "retract"};
  if (auto* n = t.get("events")) {
    w.events = r.strings(*n, prefix + "events");
    for (const auto& e : w.events)
      if (std::find(kWebhookEvents.begin(), kWebhookEvents.end(), e) == kWebhookEvents.end())
        r.fail(*n, prefix + "events",
               "entries must be new, update, update_severity, resolve, retract or suppressed");
  }
  if (auto* n = t.get("markers"))
    for (const auto& m : r.strings(*n, prefix + "markers")) {
      const auto* def = settings.markers.find(m);
      if (!def) r.fail(*n, prefix + "markers", "unknown marker '" + m + "'");
      w.markers.push_back(def->name);
    }
  if (auto* n = t.get("min_severity")) {
    w.min_severity = r.string(*n, prefix + "min_severity", 20);
    if (w.min_severity != "standard" && w.min_severity != "high")
      r.fail(*n, prefix + "min_severity", "must be \"standard\" or \"high\"");
  }
  if (auto* n = t.get("timeout_s"))
    w.timeout_s = static_cast<int>(r.integer(*n, prefix + "timeout_s", 1, 300));
  if (auto* n = t.get("retry_schedule")) {
    if (!n->is_array() || n->as_array()->empty())
      r.fail(*n, prefix + "retry_schedule", "must be a non-empty array of delays in seconds");
    w.retry_schedule.clear();
    for (auto&& d : *n->as_array())
      w.retry_schedule.push_back(
          static_cast<int>(r.integer(d, prefix + "retry_schedule", 0, 7 * 86400)));
  }
  if (auto* n = t.get("headers")) w.headers = read_headers(r, *n, prefix + "headers");
  if (auto* n = t.get("patient_id")) {
    const auto mode = r.string(*n, prefix + "patient_id", 20);
    if (mode == "id")
      w.patient_id = PatientIdMode::id;
    else if (mode == "pseudonym")
      w.patient_id = PatientIdMode::pseudonym;
    else if (mode == "none")
      w.patient_id = PatientIdMode::none;
    else
      r.fail(*n, prefix + "patient_id", "must be \"id\", \"pseudonym\" or \"none\"");
    if (w.patient_id == PatientIdMode::pseudonym && settings.notify.pseudonym_key.empty())
      r.fail(*n, prefix + "patient_id", "\"pseudonym\" needs [notify] pseudonym_key");
  }
  if (auto* n = t.get("tls_verify")) w.tls_verify = r.boolean(*n, prefix + "tls_verify");
  if (auto* n = t.get("ca_file")) w.ca_file = r.string(*n, prefix + "ca_file", 1024);
}

class ZoneByName final : public ZoneRules {
 public:
  explicit ZoneByName(const date::time_zone* zone) : zone_(zone) {}
  int offset_minutes_at_local(const LocalTimestamp& t) const override {
    using namespace std::chrono;
    const auto local = date::local_days{date::year{t.year} / t.month / t.day} + hours{t.hour} +
                       minutes{t.minute} + seconds{t.second};
    const std::int64_t at = local.time_since_epoch().count();
    // A lookup searches the zone's transitions and builds the abbreviation's string, for every
    // timestamp of every row; the rows of a file mostly fall between the same two transitions.
    // Each thread keeps the last such stretch (in local seconds) with its offset.
    thread_local Stretch last;
    if (last.zone == zone_ && at >= last.from && at < last.until) return last.offset;
    const auto info = zone_->get_info(local);
    // In a DST gap or fold the first candidate offset is taken; the collection date (what the
    // rules use) does not depend on it.
    const auto offset = static_cast<int>(duration_cast<minutes>(info.first.offset).count());
    if (info.result == date::local_info::unique) {
      // Local times this far inside the period belong to it alone: a neighbouring period's local
      // times reach into it by the difference of two offsets, always under two days.
      constexpr std::int64_t kMargin = 48 * 3600;
      const std::int64_t shift = info.first.offset.count();
      const std::int64_t from = info.first.begin.time_since_epoch().count() + shift + kMargin;
      const std::int64_t until = info.first.end.time_since_epoch().count() + shift - kMargin;
      if (from <= at && at < until) last = {zone_, from, until, offset};
    }
    return offset;
  }
  std::string name() const override { return std::string(zone_->name()); }

 private:
  struct Stretch {
    const date::time_zone* zone = nullptr;
    std::int64_t from = 0, until = 0;
    int offset = 0;
  };
  const date::time_zone* zone_;
};

}  // namespace

Endpoint parse_endpoint(const std::string& text, const std::string& key) {
  Endpoint e;
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    throw ConfigError(key + ": '" + text + "' is not host:port");
  e.host = text.substr(0, colon);
  if (e.host.front() == '[' && e.host.back() == ']') e.host = e.host.substr(1, e.host.size() - 2);
  auto port = parse_numeric(text.substr(colon + 1));
  if (!port || port->comparator != Comparator::none || port->text.find('.') != std::string::npos ||
      port->value < 0 || port->value > 65535)
    throw ConfigError(key + ": port in '" + text + "' must be 0 to 65535");
  e.port = static_cast<std::uint16_t>(port->value);
  return e;
}

std::shared_ptr<const ZoneRules> make_zone(const std::string& name) {
  if (name == "UTC" || name == "Z") return std::make_shared<FixedOffsetZone>(0, "UTC");
  if (!name.empty() && (name[0] == '+' || name[0] == '-')) {
    auto ts = parse_iso_timestamp("2000-01-01T00:00" + name);
    if (!ts || !ts->offset_minutes)
      throw ConfigError("'" + name + "' is not a UTC offset like +01:00");
    return std::make_shared<FixedOffsetZone>(*ts->offset_minutes, name);
  }
  try {
    const auto* zone = name == "localtime" ? date::current_zone() : date::locate_zone(name);
    return std::make_shared<ZoneByName>(zone);
  } catch (const std::exception& e) {
    throw ConfigError("unknown time zone '" + text::printable(name, 64) + "'");
  }
}

bool is_token_name(std::string_view name) {
  return text::is_name(name, 64);
}

std::string_view to_string(Role r) {
  switch (r) {
    case Role::ingest:
      return "ingest";
    case Role::read:
      return "read";
    case Role::review:
      return "review";
    case Role::admin:
      return "admin";
  }
  return "?";
}

const WebhookSettings* find_webhook(const Settings& s, std::string_view name) {
  for (const auto& w : s.webhooks)
    if (w.name == name) return &w;
  return nullptr;
}

std::vector<std::string> restart_only_changes(const Settings& running, const Settings& next) {
  std::vector<std::string> keys;
  const auto note = [&keys](const char* key, bool differs) {
    if (differs) keys.emplace_back(key);
  };
  const auto &a = running, &b = next;
  note("storage.path", a.storage.path != b.storage.path);
  note("storage.synchronous", a.storage.synchronous_full != b.storage.synchronous_full);
  note("storage.commit_batch_max", a.storage.commit_batch_max != b.storage.commit_batch_max);
  note("storage.wal_autocheckpoint_pages",
       a.storage.wal_autocheckpoint_pages != b.storage.wal_autocheckpoint_pages);
  note("storage.series_cache_values",
       a.storage.series_cache_values != b.storage.series_cache_values);
  note("mllp.listen", a.mllp.listen != b.mllp.listen);
  note("mllp.max_message_bytes", a.mllp.max_message_bytes != b.mllp.max_message_bytes);
  note("mllp.idle_timeout_s", a.mllp.idle_timeout_s != b.mllp.idle_timeout_s);
  note("mllp.handshake_timeout_s", a.mllp.handshake_timeout_s != b.mllp.handshake_timeout_s);
  note("mllp.max_connections", a.mllp.max_connections != b.mllp.max_connections);
  // As for HTTPS below: a reload reads the files again and takes a new allow-list; turning TLS on
  // or off changes what the listener speaks.
  note("mllp.cert_file", a.mllp.cert_file.empty() != b.mllp.cert_file.empty());
  note("http.listen", a.http.listen != b.http.listen);
  note("http.max_body_bytes", a.http.max_body_bytes != b.http.max_body_bytes);
  note("http.max_header_bytes", a.http.max_header_bytes != b.http.max_header_bytes);
  note("http.read_timeout_s", a.http.read_timeout_s != b.http.read_timeout_s);
  note("http.max_connections", a.http.max_connections != b.http.max_connections);
  // A reload reads the certificate and key again (renewed, or from other files); turning HTTPS
  // on or off changes what the listener speaks.
  note("http.cert_file", a.http.cert_file.empty() != b.http.cert_file.empty());
  note("fhir.upstream", a.fhir.upstream != b.fhir.upstream);
  return keys;
}

engine::EngineConfig engine_config(const Settings& s) {
  return {&s.markers, &s.rules, &s.milestone_kinds};
}

Settings default_settings() {
  Settings s;
  s.zone = make_zone(s.ingest.default_timezone);
  return s;
}

Settings parse_settings(std::string_view toml_text, const std::string& source_name) {
  if (toml_text.size() > kMaxConfigBytes)
    throw ConfigError(source_name + ": larger than 4 MiB, not a configuration file");
  if (!text::is_valid_utf8(toml_text)) throw ConfigError(source_name + ": not valid UTF-8");
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw ConfigError(source_name + ":" + std::to_string(where.line) + ":" +
                      std::to_string(where.column) + ": " + std::string(e.description()));
  }
  Reader r(source_name);
  Settings s;
  s.source = source_name;
  r.check_keys(root, "",
               {"storage", "mllp", "http", "log", "ingest", "fhir", "milestone_kinds", "markers",
                "notify", "webhooks"});
  if (auto* t = r.table(root, "storage", "storage")) read_storage(r, *t, s.storage);
  if (auto* t = r.table(root, "mllp", "mllp")) read_mllp(r, *t, s.mllp);
  if (auto* t = r.table(root, "http", "http")) read_http(r, *t, s.http);
  if (auto* t = r.table(root, "log", "log")) read_log(r, *t, s.log);
  if (auto* t = r.table(root, "ingest", "ingest")) read_ingest(r, *t, s.ingest);
  if (auto* t = r.table(root, "milestone_kinds", "milestone_kinds"))
    read_milestone_kinds(r, *t, s.milestone_kinds);
  // After the milestone kinds: its maps name them.
  if (auto* t = r.table(root, "fhir", "fhir")) read_fhir(r, *t, s.fhir, s.milestone_kinds);
  if (auto* t = r.table(root, "markers", "markers"))
    for (auto&& [name, node] : *t) {
      const auto key = "markers." + std::string(name.str());
      if (!node.is_table()) r.fail(node, key, "must be a table");
      read_marker(r, std::string(name.str()), *node.as_table(), s);
    }
  if (auto* t = r.table(root, "notify", "notify")) read_notify(r, *t, s.notify);
  if (auto* n = root.get("webhooks")) {
    if (!n->is_array_of_tables())
      r.fail(*n, "webhooks", "must be an array of tables ([[webhooks]])");
    std::size_t i = 0;
    for (auto&& item : *n->as_array()) {
      WebhookSettings w;
      read_webhook(r, item, i++, s, w);
      for (const auto& other : s.webhooks)
        if (other.name == w.name)
          r.fail(item, "webhooks[" + std::to_string(i - 1) + "].name",
                 "'" + w.name + "' is used by another receiver");
      s.webhooks.push_back(std::move(w));
    }
  }
  s.zone = make_zone(s.ingest.default_timezone);
  return s;
}

Settings load_settings_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot be read");
  std::string content;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    content.append(buf, static_cast<std::size_t>(in.gcount()));
    if (content.size() > kMaxConfigBytes)
      throw ConfigError(path + ": larger than 4 MiB, not a configuration file");
  }
  return parse_settings(content, path);
}

std::string url_origin(const std::string& url) {
  const auto start = url.find("//") + 2;
  auto authority = url.substr(start, url.find('/', start) - start);
  if (const auto at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);
  return url.substr(0, start) + authority;
}

std::string describe(const Settings& s) {
  std::ostringstream out;
  out << "config=" << s.source << " storage.path=" << s.storage.path
      << " storage.synchronous=" << (s.storage.synchronous_full ? "full" : "normal")
      << " mllp.listen=" << s.mllp.listen.host << ":" << s.mllp.listen.port << " mllp.tls="
      << (s.mllp.cert_file.empty()         ? "off"
          : s.mllp.client_ca_file.empty()  ? "on"
          : s.mllp.client_crl_file.empty() ? "mutual"
                                           : "mutual+crl")
      << " http.listen=" << s.http.listen.host << ":" << s.http.listen.port
      << " http.tls=" << (s.http.cert_file.empty() ? "off" : "on")
      << " http.tokens=" << s.http.tokens.size() << " fhir.upstream="
      << (s.fhir.upstream.base_url.empty() ? "off" : url_origin(s.fhir.upstream.base_url) + "/...")
      << (s.fhir.upstream.poll_every_s > 0
              ? " fhir.upstream.poll_every=" + std::to_string(s.fhir.upstream.poll_every_s) + "s"
              : "")
      << " log.level=" << s.log.level
      << " ingest.default_timezone=" << (s.zone ? s.zone->name() : s.ingest.default_timezone)
      << " markers=" << s.markers.all().size() << " webhooks=" << s.webhooks.size();
  for (const auto& w : s.webhooks)
    out << " webhook." << w.name << "=" << url_origin(w.url) << "/...";
  return out.str();
}

}  // namespace markerwatch::settings
