#include <date/tz.h>
#include <toml++/toml.h>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_support.hpp"

using namespace markerwatch;
using settings::ConfigError;

namespace {

// A value in a TOML text: the dotted key it sits under (an array's elements under the array's)
// and where it is written.
struct TomlValue {
  std::string key;
  toml::source_region where;
};

std::string dotted(const std::string& parent, std::string_view key) {
  const bool bare =
      !key.empty() && key.find_first_not_of(
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string_view::npos;
  const auto part = bare ? std::string(key) : "\"" + std::string(key) + "\"";
  return parent.empty() ? part : parent + "." + part;
}

// Every value of a parsed document: scalars, and empty arrays and inline tables as a whole.
void collect_values(const toml::node& node, const std::string& key, std::vector<TomlValue>& out) {
  if (const auto* table = node.as_table()) {
    if (table->empty() && table->is_inline()) out.push_back({key, node.source()});
    for (auto&& [name, child] : *table) collect_values(child, dotted(key, name.str()), out);
  } else if (const auto* array = node.as_array()) {
    if (array->empty()) out.push_back({key, node.source()});
    for (const auto& element : *array) collect_values(element, key, out);
  } else {
    out.push_back({key, node.source()});
  }
}

// `text` with the value written at `where` (on one line) replaced by `replacement`.
std::string replace_value(const std::string& text, const toml::source_region& where,
                          const std::string& replacement) {
  std::istringstream in(text);
  std::string out, line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (number == where.begin.line)
      line.replace(where.begin.column - 1, where.end.column - where.begin.column, replacement);
    out += line + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("every file in config/ and tests/fixtures/toml loads") {
  int loaded = 0;
  for (auto dir : {test::source_dir() / "config", test::source_dir() / "tests/fixtures/toml"})
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() != ".toml") continue;
      INFO(entry.path());
      CHECK_NOTHROW(settings::load_settings_file(entry.path()));
      ++loaded;
    }
  CHECK(loaded >= 3);
}

TEST_CASE("the reference config is exactly the embedded defaults") {
  auto ref = settings::load_settings_file(test::source_dir() / "config/markerwatch.toml");
  auto def = settings::default_settings();
  CHECK(ref.storage.path == def.storage.path);
  CHECK(ref.storage.synchronous_full == def.storage.synchronous_full);
  CHECK(ref.storage.commit_batch_max == def.storage.commit_batch_max);
  CHECK(ref.storage.wal_autocheckpoint_pages == def.storage.wal_autocheckpoint_pages);
  CHECK(ref.storage.series_cache_values == def.storage.series_cache_values);
  CHECK(ref.mllp.listen.host == def.mllp.listen.host);
  CHECK(ref.mllp.listen.port == def.mllp.listen.port);
  CHECK(ref.mllp.max_message_bytes == def.mllp.max_message_bytes);
  CHECK(ref.mllp.idle_timeout_s == def.mllp.idle_timeout_s);
  CHECK(ref.mllp.handshake_timeout_s == def.mllp.handshake_timeout_s);
  CHECK(ref.mllp.max_connections == def.mllp.max_connections);
  CHECK(ref.http.listen.host == def.http.listen.host);
  CHECK(ref.http.listen.port == def.http.listen.port);
  CHECK(ref.http.max_body_bytes == def.http.max_body_bytes);
  CHECK(ref.http.max_header_bytes == def.http.max_header_bytes);
  CHECK(ref.http.read_timeout_s == def.http.read_timeout_s);
  CHECK(ref.http.max_connections == def.http.max_connections);
  CHECK(ref.http.tokens.empty());
  CHECK(settings::restart_only_changes(def, ref).empty());  // nothing that a reload refuses
  CHECK(ref.log.level == def.log.level);
  CHECK(ref.ingest.default_timezone == def.ingest.default_timezone);
  CHECK(ref.ingest.accept_processing_ids == def.ingest.accept_processing_ids);
  REQUIRE(ref.markers.all().size() == def.markers.all().size());
  for (std::size_t i = 0; i < def.markers.all().size(); ++i) {
    CHECK(ref.markers.all()[i].uln == def.markers.all()[i].uln);
    CHECK(ref.markers.all()[i].unit_factors == def.markers.all()[i].unit_factors);
  }
  // Every rule parameter and profile written in the reference equals the built-in one.
  for (const auto& [name, rules] : def.rules.all()) {
    INFO(name);
    CHECK(ref.rules.marker(name).base == rules.base);
    REQUIRE(ref.rules.marker(name).profiles.size() == rules.profiles.size());
    for (const auto& [kind, p] : rules.profiles)
      CHECK(ref.rules.marker(name).profiles.at(kind) == p);
  }
  CHECK(ref.milestone_kinds.all() == def.milestone_kinds.all());
  CHECK(ref.notify.max_age_days == def.notify.max_age_days);
  CHECK(ref.notify.renotify_after_s == def.notify.renotify_after_s);
  CHECK(ref.notify.pseudonym_key == def.notify.pseudonym_key);
  CHECK(ref.notify.max_in_flight == def.notify.max_in_flight);
  CHECK(ref.webhooks.empty());
}

TEST_CASE("fhir.upstream: the server to search when its subscription pings") {
  const auto s = test::settings_from(
      "[fhir.upstream]\nbase_url = \"https://lab:secret@fhir.example.org/r4/\"\n"
      "search = \"Observation?code=http://loinc.org|1834-1\"\n"
      "headers = { Authorization = \"Bearer abc\" }\ntimeout_s = 5\nmax_pages = 7\n"
      "tls_verify = false\npoll_every = \"15m\"\n");
  CHECK(s.fhir.upstream.base_url == "https://lab:secret@fhir.example.org/r4");  // no trailing /
  CHECK(s.fhir.upstream.search == "Observation?code=http://loinc.org|1834-1");
  CHECK(s.fhir.upstream.headers ==
        std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer abc"}});
  CHECK(s.fhir.upstream.timeout_s == 5);
  CHECK(s.fhir.upstream.max_pages == 7);
  CHECK_FALSE(s.fhir.upstream.tls_verify);
  CHECK(s.fhir.upstream.poll_every_s == 900);
  CHECK(test::settings_from(
            "[fhir.upstream]\nbase_url = \"https://x/fhir\"\nsearch = \"Observation\"\n")
            .fhir.upstream.poll_every_s == 0);  // off: runs follow notifications only
  const auto described = settings::describe(s);
  CHECK_THAT(described, Catch::Contains("fhir.upstream=https://fhir.example.org/... "
                                        "fhir.upstream.poll_every=900s"));
  CHECK_THAT(described, !Catch::Contains("secret"));
  CHECK(settings::describe(test::settings_from("")).find("fhir.upstream=off") != std::string::npos);

  const std::pair<const char*, const char*> errors[] = {
      {"[fhir.upstream]\nsearch = \"Observation\"\n", "fhir.upstream.base_url: is required"},
      {"[fhir.upstream]\nbase_url = \"ftp://x/fhir\"\nsearch = \"Observation\"\n",
       "test.toml:2:12: fhir.upstream.base_url: must start with http:// or https://"},
      {"[fhir.upstream]\nbase_url = \"https://x/fhir?a=1\"\nsearch = \"Observation\"\n",
       "fhir.upstream.base_url: is the server's base: no query, fragment or space"},
      {"[fhir.upstream]\nbase_url = \"https://x/fhir\"\n", "fhir.upstream.search: is required"},
      {"[fhir.upstream]\nbase_url = \"https://x/fhir\"\nsearch = \"/Observation\"\n",
       "test.toml:3:10: fhir.upstream.search: must be a search relative to base_url"},
      {"[fhir.upstream]\nbase_url = \"https://x/fhir\"\nsearch = \"Observation?a=1 b\"\n",
       "fhir.upstream.search: must be a search relative to base_url"},
      {"[fhir.upstream]\nbase_url = \"https://x/fhir\"\nsearch = \"Observation\"\npages = 3\n",
       "test.toml:4:9: fhir.upstream.pages: unknown key"},
      {"[fhir.upstream]\nbase_url = \"https://x/fhir\"\nsearch = \"Observation\"\n"
       "headers = { \"Bad Header\" = \"x\" }\n",
       "fhir.upstream.headers.Bad Header: is not a valid header"},
      {"[fhir.upstream]\nbase_url = \"https://x/fhir\"\nsearch = \"Observation\"\nmax_pages = 0\n",
       "fhir.upstream.max_pages: must be between 1 and 100000"},
      {"[fhir.upstream]\nbase_url = \"https://x/fhir\"\nsearch = \"Observation\"\n"
       "ca_file = \"/nonexistent/ca.pem\"\n",
       "fhir.upstream.ca_file: cannot read '/nonexistent/ca.pem'"},
      {"[fhir]\nupstream = \"https://x/fhir\"\n", "fhir.upstream: must be a table"},
      {"[fhir.upstream]\nbase_url = \"https://x/fhir\"\nsearch = \"Observation\"\n"
       "tls_verify = \"no\"\n",
       "test.toml:4:14: fhir.upstream.tls_verify: must be true or false"},
      {"[fhir.upstream]\nbase_url = \"https://x/fhir\"\nsearch = \"Observation\"\n"
       "poll_every = \"0.5s\"\n",
       "test.toml:4:14: fhir.upstream.poll_every: must be \"off\" or a duration"},
      {"[fhir.upstream]\nbase_url = \"https://x/fhir\"\nsearch = \"Observation\"\n"
       "poll_every = 60\n",
       "fhir.upstream.poll_every: must be a string"},
  };
  for (const auto& [toml, message] : errors) {
    INFO(toml);
    CHECK_THROWS_WITH(test::settings_from(toml), Catch::Contains(message));
  }
}

TEST_CASE("config errors name the key and its line") {
  struct Case {
    const char* toml;
    const char* message;
  };
  const Case cases[] = {
      {"[storage]\npath = 3\n", "test.toml:2:8: storage.path: must be a string"},
      {"[mllp]\nlisten = \"127.0.0.1:2575\"\nlistn = 1\n",
       "test.toml:3:9: mllp.listn: unknown key"},
      {"[storage]\nwal_autocheckpoint_pages = 99\n",
       "test.toml:2:28: storage.wal_autocheckpoint_pages: must be between 100 and 1000000"},
      {"[storage]\nwal_autocheckpoint_pages = \"lots\"\n",
       "storage.wal_autocheckpoint_pages: must be an integer"},
      {"[storage]\nseries_cache_values = -1\n",
       "test.toml:2:23: storage.series_cache_values: must be between 0 and 16777216"},
      {"[storage]\nseries_cache_values = 1.5\n", "storage.series_cache_values: must be an integer"},
      {"[mllp]\nmax_connections = 0\n",
       "test.toml:2:19: mllp.max_connections: must be between 1 and 10000"},
      {"[mllp]\nhandshake_timeout_s = 0\n",
       "test.toml:2:23: mllp.handshake_timeout_s: must be between 1 and 3600"},
      {"[mllp]\nmax_connections = \"ten\"\n", "mllp.max_connections: must be an integer"},
      {"[mllp]\nlisten = \"localhost\"\n", "test.toml:2:10: mllp.listen:"},
      {"[mllp]\nlisten = \"127.0.0.1:70000\"\n", "port in '127.0.0.1:70000' must be 0 to 65535"},
      {"[storage]\nsynchronous = \"off\"\n",
       "test.toml:2:15: storage.synchronous: must be \"full\" or \"normal\""},
      {"[log]\nlevel = \"loud\"\n", "test.toml:2:9: log.level:"},
      {"[ingest]\ndefault_timezone = \"Mars/Olympus\"\n", "unknown time zone 'Mars/Olympus'"},
      {"[ingest]\naccept_processing_ids = [\"X\"]\n", "ingest.accept_processing_ids"},
      {"[markers.AFP]\nuln = -1\n", "test.toml:2:7: markers.AFP.uln: must be between"},
      {"[markers.AFP]\ncanonical_unit = \"IU/mL\"\n",
       "canonical unit of a built-in marker cannot change"},
      {"[markers.AFP]\nunits = { \"IU/mL\" = \"x\" }\n",
       "markers.AFP.units.IU/mL: must be a number"},
      {"[markers.NEW]\nuln = 3\n",
       "markers.NEW: is not a built-in marker, so it needs canonical_unit and uln"},
      {"[markers.AFP]\nlocal_codes = [\"L|\"]\n", "has no code"},
      {"[markers.AFP]\nhalf_life = 7\n", "test.toml:2:13: markers.AFP.half_life: unknown key"},
      {"[markers.AFP]\nrise = { pct = -1 }\n",
       "test.toml:2:16: markers.AFP.rise.pct: must be between"},
      {"[markers.AFP]\nrise = { pcnt = 50 }\n",
       "test.toml:2:17: markers.AFP.rise.pcnt: unknown key"},
      {"[markers.AFP]\nrise = \"on\"\n",
       "test.toml:2:8: markers.AFP.rise: must be \"off\" or a table"},
      {"[markers.AFP]\nrenorm = { k = \"two\" }\n", "markers.AFP.renorm.k: must be a number"},
      {"[markers.AFP-L3]\nabs = { confirm_days = 7 }\n", ""},
      {"[markers.CEA]\nabs = { confirm_days = 7 }\n", "markers.CEA.abs.threshold: is required"},
      {"[markers.AFP]\nhalf_life_days = \"none\"\n",
       "markers.AFP.half_life_days: must be a number or \"off\""},
      {"[markers.AFP]\nflare_guard_days = 5000\n",
       "markers.AFP.flare_guard_days: must be between 0 and 3650"},
      {"[markers.AFP]\nvka_suppressor = 1\n", "markers.AFP.vka_suppressor: must be true or false"},
      {"[markers.AFP]\nrise = { only_if_never_normalized = \"yes\" }\n",
       "markers.AFP.rise.only_if_never_normalized: must be true or false"},
      {"[markers.PSA.profiles.imaging]\nuln = 1\n",
       "test.toml:1:1: markers.PSA.profiles.imaging: 'imaging' is not an anchor milestone kind"},
      {"[markers.PSA.profiles.radical_prostatectomy]\nulnn = 1\n",
       "markers.PSA.profiles.radical_prostatectomy.ulnn: unknown key"},
      {"[milestone_kinds]\ncryoablation = \"curable\"\n",
       "test.toml:2:16: milestone_kinds.cryoablation: must be \"anchor\", \"curative\" or "
       "\"context\""},
      {"[milestone_kinds]\n\"Bad Kind\" = \"anchor\"\n",
       "milestone_kinds.Bad Kind: kind names use"},
      {"[storage\npath = 1\n", "test.toml:1:"},
      {"storage = 5\n", "test.toml:1:11: storage: must be a table"},
      {"[unknown]\n", "unknown: unknown key"},
      {"[http]\nlisten = \"127.0.0.1\"\n", "test.toml:2:10: http.listen:"},
      {"[http]\nmax_body_bytes = 10\n", "test.toml:2:18: http.max_body_bytes: must be between"},
      {"[http]\ncert_file = \"x.pem\"\n",
       "test.toml:2:13: http.key_file: is required when http.cert_file is set"},
      {"[http]\ncert_file = \"/nonexistent/c.pem\"\nkey_file = \"/nonexistent/k.pem\"\n",
       "test.toml:2:13: http.cert_file: cannot read '/nonexistent/c.pem'"},
      {"[mllp]\nkey_file = \"k.pem\"\n",
       "test.toml:2:12: mllp.cert_file: is required when mllp.key_file is set"},
      {"[mllp]\ncert_file = \"/nonexistent/c.pem\"\nkey_file = \"/nonexistent/k.pem\"\n",
       "test.toml:2:13: mllp.cert_file: cannot read '/nonexistent/c.pem'"},
      {"[mllp]\nclient_ca_file = \"ca.pem\"\n",
       "test.toml:2:18: mllp.client_ca_file: needs mllp.cert_file and mllp.key_file"},
      {"[mllp]\nallowed_clients = [\"lab\"]\n",
       "test.toml:2:19: mllp.allowed_clients: needs mllp.client_ca_file"},
      {"[mllp]\nallowed_clients = \"lab\"\n",
       "test.toml:2:19: mllp.allowed_clients: must be an array of strings"},
      {"[mllp]\nallowed_clients = [1]\n", "test.toml:2:20: mllp.allowed_clients: must be a string"},
      {"[fhir]\npatient_system = \"x\"\n", "test.toml:2:18: fhir.patient_system: unknown key"},
      {"[fhir]\nprocedures = { \"http://snomed.info/sct|1\" = \"surgery\" }\n",
       "fhir.procedures.\"http://snomed.info/sct|1\": unknown milestone kind 'surgery'"},
      {"[fhir]\nprocedures = { \"1234\" = \"resection\" }\n",
       "fhir.procedures.\"1234\": the key must be \"SYSTEM|CODE\""},
      {"[fhir]\nmedications = { \"urn:rx|1\" = \"resection\" }\n",
       "fhir.medications.\"urn:rx|1\": must be a milestone kind ending in _start"},
      {"[fhir]\nauthorities = [\"x\"]\n", "fhir.authorities: must be a table"},
      {"[http]\ntokens = 3\n", "http.tokens: must be an array of tables"},
      {"[[http.tokens]]\nsha256 = \"ab\"\n", "http.tokens[0].name: is required"},
      {"[[http.tokens]]\nname = \"a b\"\n", "test.toml:2:8: http.tokens[0].name: use letters"},
      {"[[http.tokens]]\nname = \"a\"\nroles = [\"read\"]\n", "http.tokens[0].sha256: is required"},
      {"[[http.tokens]]\nname = \"a\"\nsha256 = \"ABC\"\nroles = [\"read\"]\n",
       "test.toml:3:10: http.tokens[0].sha256: must be 64 lowercase hex digits"},
      {"[[http.tokens]]\nname = \"a\"\nsha256 = "
       "\"0000000000000000000000000000000000000000000000000000000000000000\"\n",
       "http.tokens[0].roles: is required"},
      {"[[http.tokens]]\nname = \"a\"\nsha256 = "
       "\"0000000000000000000000000000000000000000000000000000000000000000\"\nroles = [\"root\"]\n",
       "test.toml:4:9: http.tokens[0].roles: entries must be ingest, read, review or admin"},
      {"[[http.tokens]]\nname = \"a\"\nsha256 = "
       "\"0000000000000000000000000000000000000000000000000000000000000000\"\nroles = []\n",
       "http.tokens[0].roles: must name at least one role"},
      {"[[http.tokens]]\nname = \"a\"\nsha256 = "
       "\"0000000000000000000000000000000000000000000000000000000000000000\"\nroles = [\"read\"]\n"
       "[[http.tokens]]\nname = \"a\"\nsha256 = "
       "\"1111111111111111111111111111111111111111111111111111111111111111\"\nroles = [\"read\"]\n",
       "test.toml:6:8: http.tokens[1].name: is used by another token"},
  };
  for (const auto& c : cases) {
    INFO(c.toml);
    if (std::string(c.message).empty())
      CHECK_NOTHROW(test::settings_from(c.toml));  // a partial table keeps the other values
    else
      CHECK_THROWS_WITH(test::settings_from(c.toml), Catch::Contains(c.message));
  }
}

TEST_CASE(
    "a value of a type no key takes, at any key of the reference config, names that key and line") {
  const auto reference = test::read_file(test::source_dir() / "config/markerwatch.toml");
  std::vector<TomlValue> values;
  collect_values(toml::parse(std::string_view(reference), std::string_view("test.toml")), "",
                 values);
  REQUIRE(values.size() > 100);
  for (const auto& v : values) {
    REQUIRE(v.where.begin.line == v.where.end.line);
    // A date-time: no key of markerwatch's configuration takes one.
    const auto broken = replace_value(reference, v.where, "1979-05-27T07:32:00Z");
    INFO(v.key << " at line " << v.where.begin.line << ":\n" << broken);
    CHECK_THROWS_WITH(test::settings_from(broken),
                      Catch::StartsWith("test.toml:" + std::to_string(v.where.begin.line) + ":") &&
                          Catch::Contains(v.key + ": "));
  }
}

TEST_CASE("mllp over TLS: files that must be readable and names a certificate may carry") {
  test::TempDir dir;
  const auto file = [&](const char* name) {
    const auto path = (dir.path() / name).string();
    std::ofstream(path) << "PEM\n";  // only readability is checked here; the contents at start
    return path;
  };
  const auto tls =
      "[mllp]\ncert_file = \"" + file("c.pem") + "\"\nkey_file = \"" + file("k.pem") + "\"\n";
  const auto ca = "client_ca_file = \"" + file("ca.pem") + "\"\n";

  const auto mutual =
      test::settings_from(tls + ca + "allowed_clients = [\"lab-engine.example.org\", \"LAB_2\"]\n");
  CHECK(mutual.mllp.client_ca_file == (dir.path() / "ca.pem").string());
  CHECK(mutual.mllp.allowed_clients == std::vector<std::string>{"lab-engine.example.org", "LAB_2"});
  CHECK_THAT(settings::describe(mutual), Catch::Contains(" mllp.tls=mutual "));
  CHECK_THAT(settings::describe(test::settings_from(tls)), Catch::Contains(" mllp.tls=on "));
  CHECK_THAT(settings::describe(test::utc_settings()), Catch::Contains(" mllp.tls=off "));
  const auto crl = "client_crl_file = \"" + file("ca.crl") + "\"\n";
  const auto revoking = test::settings_from(tls + ca + crl);
  CHECK(revoking.mllp.client_crl_file == (dir.path() / "ca.crl").string());
  CHECK_THAT(settings::describe(revoking), Catch::Contains(" mllp.tls=mutual+crl "));
  CHECK_THROWS_WITH(test::settings_from(tls + crl),
                    Catch::Contains("test.toml:4:19: mllp.client_crl_file: needs "
                                    "mllp.client_ca_file"));
  CHECK_THROWS_WITH(test::settings_from(tls + ca + "client_crl_file = \"/nonexistent/ca.crl\"\n"),
                    Catch::Contains("test.toml:5:19: mllp.client_crl_file: cannot read "
                                    "'/nonexistent/ca.crl'"));
  CHECK_THROWS_WITH(test::settings_from(tls + ca + "client_crl_file = 3\n"),
                    Catch::Contains("test.toml:5:19: mllp.client_crl_file: must be a string"));

  CHECK_THROWS_WITH(test::settings_from(tls + "client_ca_file = \"/nonexistent/ca.pem\"\n"),
                    Catch::Contains("test.toml:4:18: mllp.client_ca_file: cannot read "
                                    "'/nonexistent/ca.pem'"));
  // Hostile or malformed names: a wildcard, a space, a control character, an empty string.
  for (const auto* name : {"*.example.org", "lab engine", "lab\\u0001", "", "a/b"}) {
    INFO(name);
    CHECK_THROWS_WITH(test::settings_from(tls + ca + "allowed_clients = [\"" + name + "\"]\n"),
                      Catch::Contains("test.toml:5:19: mllp.allowed_clients: '") &&
                          Catch::Contains("is not a certificate name"));
  }
  CHECK_THROWS_WITH(
      test::settings_from(tls + ca + "allowed_clients = [\"" + std::string(254, 'a') + "\"]\n"),
      Catch::Contains("is not a certificate name"));

  // With TLS on before and after, a reload may take other files and another allow-list.
  const auto other =
      "[mllp]\ncert_file = \"" + file("c2.pem") + "\"\nkey_file = \"" + file("k2.pem") + "\"\n";
  CHECK(settings::restart_only_changes(
            mutual, test::settings_from(other + ca + "allowed_clients = [\"pharmacy\"]\n"))
            .empty());
  CHECK(settings::restart_only_changes(mutual, test::settings_from(tls)).empty());
  CHECK(settings::restart_only_changes(mutual, revoking).empty());
  CHECK(settings::restart_only_changes(revoking, mutual).empty());
  CHECK(settings::restart_only_changes(mutual, test::utc_settings()) ==
        std::vector<std::string>{"mllp.cert_file"});
}

TEST_CASE("bad config bytes are refused whole") {
  CHECK_THROWS_WITH(test::settings_from(std::string("[log]\nlevel = \"\xff\"\n")),
                    Catch::Contains("not valid UTF-8"));
  CHECK_THROWS_WITH(test::settings_from(std::string(5 * 1024 * 1024, '#')),
                    Catch::Contains("larger than 4 MiB"));
  CHECK_THROWS_AS(settings::load_settings_file("/nonexistent/markerwatch.toml"), ConfigError);
}

TEST_CASE("the config extends the marker table") {
  auto s = test::settings_from(
      "[markers.AFP]\nlocal_codes = [\"L|AFPS\", \"AFPX\"]\nuln = 8.5\nunits = { \"IU/mL\" = 1.2 "
      "}\n"
      "[markers.LDH]\ncanonical_unit = \"U/L\"\nuln = 250\nloinc = [\"2532-0\"]\n");
  CHECK(s.markers.find_by_code("AFPS", "L")->name == "AFP");
  CHECK(s.markers.find_by_code("AFPX", "99ANY")->name == "AFP");
  CHECK(s.markers.find("AFP")->uln == 8.5);
  CHECK(s.markers.find("AFP")->unit_factors.at("IU/mL") == Approx(1.2));
  CHECK(s.markers.find("AFP")->loinc_codes.size() == 4);  // built-ins kept
  CHECK(s.markers.find("2532-0")->name == "LDH");
}

TEST_CASE("time zones: UTC, fixed offsets and IANA names") {
  CHECK(settings::make_zone("UTC")->offset_minutes_at_local({}) == 0);
  CHECK(settings::make_zone("+05:30")->offset_minutes_at_local({}) == 330);
  LocalTimestamp summer;
  summer.year = 2016;
  summer.month = 7;
  summer.day = 1;
  summer.hour = 12;
  CHECK(settings::make_zone("Europe/Berlin")->offset_minutes_at_local(summer) == 120);
  LocalTimestamp winter = summer;
  winter.month = 1;
  CHECK(settings::make_zone("Europe/Berlin")->offset_minutes_at_local(winter) == 60);
  CHECK_THROWS_AS(settings::make_zone("+5"), ConfigError);
}

TEST_CASE("a named zone's offsets are the zone database's around every transition") {
  // The zone keeps the stretch between two transitions it last found; hour by hour across
  // daylight-saving changes, a skipped day (Apia, 2011-12-30) and half-hour shifts (Lord Howe),
  // it must answer as the database does.
  for (const std::string name :
       {"Europe/Berlin", "America/New_York", "Pacific/Apia", "Australia/Lord_Howe"}) {
    INFO(name);
    const auto zone = settings::make_zone(name);
    const auto* reference = date::locate_zone(name);
    std::vector<std::int64_t> hours;
    const std::int64_t first =
        date::local_days{date::year{2011} / 1 / 1}.time_since_epoch().count() * 24;
    // Every hour, each asked right after one three days later: a fold's hour is asked while
    // the zone holds the period after it.
    for (std::int64_t h = 0; h < 2 * 366 * 24; ++h) {
      hours.push_back(first + h + 72);
      hours.push_back(first + h);
    }
    std::size_t mismatches = 0;
    std::string first_mismatch;
    for (const auto h : hours) {
      const date::local_seconds local{std::chrono::hours{h}};
      const auto day = date::floor<date::days>(local);
      const date::year_month_day ymd{day};
      const date::hh_mm_ss time{local - day};
      LocalTimestamp t;
      t.year = static_cast<int>(ymd.year());
      t.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
      t.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
      t.hour = static_cast<int>(time.hours().count());
      const auto expected =
          std::chrono::duration_cast<std::chrono::minutes>(reference->get_info(local).first.offset)
              .count();
      if (zone->offset_minutes_at_local(t) != expected && mismatches++ == 0)
        first_mismatch = date::format("%F %H:00", local);
    }
    INFO("first at " << first_mismatch);
    CHECK(mismatches == 0);
  }
}

TEST_CASE("rule parameters, profiles and milestone kinds are configurable") {
  auto s = test::settings_from(
      "[milestone_kinds]\ncryoablation = \"curative\"\nimaging = \"context\"\n"
      "[markers.AFP]\nrise = { pct = 60, confirm_days = 21 }\nabs = \"off\"\n"
      "half_life_days = \"off\"\ndoubling_time_high_days = 60\n"
      "[markers.AFP.profiles.transplant]\nuln = 5\nrenorm = { k = 3 }\n"
      "[markers.PSA.profiles.radical_prostatectomy]\nuln = 0.2\n"
      "[markers.PSA.profiles.radiotherapy_start]\nuln = \"none\"\n");
  CHECK(s.milestone_kinds.role("cryoablation") == MilestoneRole::curative_anchor);
  const auto& afp = s.rules.marker("AFP");
  CHECK(afp.base.rise->pct == 60);
  CHECK(afp.base.rise->abs == 5);  // kept
  CHECK(afp.base.rise->confirm_days == 21);
  CHECK_FALSE(afp.base.absolute.has_value());
  CHECK_FALSE(afp.base.half_life_days.has_value());
  CHECK(afp.base.doubling_time_high_days == 60);
  // A new profile starts from the marker's parameters.
  const auto& transplant = afp.profiles.at("transplant");
  CHECK(transplant.uln_source == engine::UlnSource::fixed);
  CHECK(transplant.fixed_uln == 5);
  CHECK(transplant.renorm->k == 3);
  CHECK(transplant.rise->pct == 60);
  CHECK(s.rules.marker("PSA").profiles.at("radical_prostatectomy").fixed_uln == 0.2);
  CHECK(s.rules.marker("PSA").profiles.at("radical_prostatectomy").absolute->threshold == 0.2);
}

TEST_CASE(
    "a reload may change markers, rules, tokens, receivers and the log level, not what needs a "
    "restart") {
  const auto base = std::string("[ingest]\ndefault_timezone = \"UTC\"\n");
  const auto running = test::settings_from(base);
  CHECK(settings::restart_only_changes(running, test::settings_from(base)).empty());
  const auto token = "[[http.tokens]]\nname = \"ops\"\nsha256 = \"" + std::string(64, 'a') +
                     "\"\nroles = [\"admin\"]\n";
  const auto may = test::settings_from(
      base + "[log]\nlevel = \"debug\"\n[markers.AFP]\nlocal_codes = [\"AFPX\"]\n" + token);
  CHECK(may.http.tokens.at(0).roles == static_cast<unsigned>(settings::Role::admin));
  CHECK(settings::restart_only_changes(running, may).empty());
  // The webhook sender takes up new receivers and [notify] settings while it runs.
  const auto receivers =
      test::settings_from(base +
                          "[notify]\nmax_in_flight = 1\n[[webhooks]]\nname = \"chat\"\nurl = "
                          "\"https://chat.example/hook\"\nformat = \"slack\"\n");
  CHECK(receivers.webhooks.size() == 1);
  CHECK(settings::restart_only_changes(running, receivers).empty());

  using Keys = std::vector<std::string>;
  const std::vector<std::pair<std::string, Keys>> cases = {
      {"[storage]\npath = \"elsewhere.db\"\n", {"storage.path"}},
      {"[storage]\nsynchronous = \"normal\"\ncommit_batch_max = 64\n",
       {"storage.synchronous", "storage.commit_batch_max"}},
      {"[mllp]\nlisten = \"127.0.0.1:2576\"\n", {"mllp.listen"}},
      {"[mllp]\nmax_message_bytes = 2048\nidle_timeout_s = 5\nmax_connections = 3\n",
       {"mllp.max_message_bytes", "mllp.idle_timeout_s", "mllp.max_connections"}},
      {"[mllp]\nhandshake_timeout_s = 10\n", {"mllp.handshake_timeout_s"}},
      {"[fhir.upstream]\nbase_url = \"https://fhir.example.org/r4\"\nsearch = \"Observation\"\n",
       {"fhir.upstream"}},
      {"[http]\nlisten = \"127.0.0.1:8081\"\nread_timeout_s = 3\n",
       {"http.listen", "http.read_timeout_s"}},
      // Turning MLLP over TLS on (the files need only be readable here).
      {"[mllp]\ncert_file = \"" + std::string(MW_SOURCE_DIR) + "/README.md\"\nkey_file = \"" +
           MW_SOURCE_DIR + "/README.md\"\n",
       {"mllp.cert_file"}},
  };
  for (const auto& [extra, keys] : cases) {
    INFO(extra);
    CHECK(settings::restart_only_changes(running, test::settings_from(base + extra)) == keys);
  }
}
