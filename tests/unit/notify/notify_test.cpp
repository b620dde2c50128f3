#include <catch2/catch.hpp>

#include <limits>

#include "engine/alert_json.hpp"
#include "notify/payload.hpp"
#include "notify/policy.hpp"
#include "notify/signature.hpp"
#include "test_support.hpp"

using namespace markerwatch;
using namespace markerwatch::notify;

TEST_CASE("Standard Webhooks signature: the specification's test vector") {
  // INTEROP.md §4.1, reproduced there with Python hmac and npm standardwebhooks 1.1.1.
  auto key = webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  REQUIRE(key);
  CHECK(sign(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})") ==
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  // One byte of the body, the id or the timestamp changes the signature.
  CHECK(sign(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, R"({"test": 2432232314})") !=
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  CHECK_FALSE(webhook_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));  // no prefix
  CHECK_FALSE(webhook_key("whsec_not*base64!"));
  CHECK_FALSE(webhook_key("whsec_AAAA"));  // too short a key
}

TEST_CASE("base64 round trip with and without padding") {
  for (const std::string& s :
       std::vector<std::string>{"a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto encoded = base64_encode(s);
    CHECK(base64_decode(encoded) == s);
  }
  CHECK_FALSE(base64_decode("abc"));
}

TEST_CASE("pseudonyms are keyed, stable and do not contain the identifier") {
  const auto a = pseudonym("a-long-pseudonym-key", "case-001");
  CHECK(a.size() == 32);
  CHECK(a == pseudonym("a-long-pseudonym-key", "case-001"));
  CHECK(a != pseudonym("another-pseudonym-key", "case-001"));
  CHECK(a.find("case") == std::string::npos);
}

TEST_CASE(
    "attempt outcomes: 2xx delivered, 408/429/5xx/network retried, 410 disables, other 4xx "
    "dead") {
  CHECK(classify(200) == AttemptVerdict::delivered);
  CHECK(classify(204) == AttemptVerdict::delivered);
  CHECK(classify(0) == AttemptVerdict::retry);
  CHECK(classify(408) == AttemptVerdict::retry);
  CHECK(classify(429) == AttemptVerdict::retry);
  CHECK(classify(500) == AttemptVerdict::retry);
  CHECK(classify(503) == AttemptVerdict::retry);
  CHECK(classify(410) == AttemptVerdict::disable_receiver);
  CHECK(classify(400) == AttemptVerdict::dead);
  CHECK(classify(401) == AttemptVerdict::dead);
  CHECK(classify(301) == AttemptVerdict::dead);  // redirects are not followed
}

TEST_CASE("the retry schedule, Retry-After and exhaustion") {
  const std::vector<int> schedule = {0, 5, 300, 1800};
  CHECK(next_attempt(schedule, 1, 1000, std::nullopt) == 1005);
  CHECK(next_attempt(schedule, 2, 1000, std::nullopt) == 1300);
  CHECK(next_attempt(schedule, 1, 1000, 120) == 1120);         // a longer Retry-After wins
  CHECK(next_attempt(schedule, 2, 1000, 10) == 1300);          // a shorter one does not
  CHECK(next_attempt(schedule, 1, 1000, 999999) == 87400);     // capped at a day
  CHECK_FALSE(next_attempt(schedule, 4, 1000, std::nullopt));  // exhausted: dead
}

TEST_CASE("Retry-After: delay-seconds or an HTTP date, in seconds from now") {
  constexpr std::int64_t now = 1'445'412'480;  // Wed, 21 Oct 2015 07:28:00 GMT
  CHECK(parse_retry_after(" 30", now) == 30);
  CHECK(parse_retry_after("0", now) == 0);
  CHECK(parse_retry_after("99999999999999999999", now) == std::numeric_limits<int>::max());
  // The three date formats of RFC 9110 section 5.6.7.
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now) == 120);
  CHECK(parse_retry_after("Wednesday, 21-Oct-15 07:30:00 GMT", now) == 120);
  CHECK(parse_retry_after("Wed Oct 21 07:30:00 2015", now) == 120);
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == 0);
  CHECK(parse_retry_after("Tue, 20 Oct 2015 07:28:00 GMT", now) == 0);  // past: at once
  for (const char* bad : {"", "  ", "-5", "30s", "1.5", "+30", "soon", "\x01\x02", "30, 40"})
    CHECK_FALSE(parse_retry_after(bad, now));
}

TEST_CASE("routing: events, markers, severity and the backfill age") {
  settings::WebhookSettings r;
  r.events = {"new", "update_severity", "resolve", "retract"};
  RoutedEvent e{"new", "AFP", "standard", false, 20000};
  CHECK(wants(r, e));
  e.type = "update";
  CHECK_FALSE(wants(r, e));
  e.severity_raised = true;
  CHECK(wants(r, e));
  e.type = "info";
  CHECK_FALSE(wants(r, e));
  e.type = "new";
  r.markers = {"PSA"};
  CHECK_FALSE(wants(r, e));
  r.markers = {"AFP"};
  r.min_severity = "high";
  CHECK_FALSE(wants(r, e));
  e.severity = "high";
  CHECK(wants(r, e));

  settings::NotifySettings n;  // max_age_days 30
  CHECK_FALSE(too_old(n, e, 20030));
  CHECK(too_old(n, e, 20031)->find("max_age_days = 30") != std::string::npos);
  n.max_age_days = 0;
  CHECK_FALSE(too_old(n, e, 99999));
}

namespace {

engine::Json sample_event() {
  return engine::Json::parse(R"({"event":"new","alert_id":7,"patient_id":"case-001",
    "marker":"AFP","method":"","class":"progression","arm":0,"rules":["R_RISE"],
    "event_date":"2015-06-10","fire_date":"2015-09-09","severity":"high","value":12.8,
    "comparator":"","unit":"ng/mL","confirmer":{"value":48.0,"date":"2015-09-09"},
    "anchor":{"kind":"metastasectomy","date":"2013-10-22","curative":true},"baseline":null,
    "nadir":{"value":3.0,"date":"2015-01-14"},"change_pct":326.7,"change_abs":9.8,
    "doubling_time_days":60.4,"later_firings":[],"resolved_date":null,
    "summary":"AFP rising after metastasectomy (2013-10-22): 12.8 ng/mL","state":"open"})");
}

}  // namespace

TEST_CASE("payloads per format, and the patient as each receiver may see it") {
  settings::NotifySettings n;
  n.pseudonym_key = "a-long-pseudonym-key";
  settings::WebhookSettings r;
  r.name = "team";
  auto body = engine::Json::parse(webhook_body(r, n, sample_event(), "mw_1_team", 1700000000));
  CHECK(body["type"] == "alert.new");
  CHECK(body["id"] == "mw_1_team");
  CHECK(body["timestamp"] == "2023-11-14T22:13:20Z");
  CHECK(body["data"]["patient"]["id"] == "case-001");
  CHECK(body["data"]["alert_id"] == 7);
  CHECK(body["data"]["marker"] == "AFP");
  CHECK(body["data"]["doubling_time_days"] == 60.4);

  for (auto mode : {settings::PatientIdMode::pseudonym, settings::PatientIdMode::none}) {
    r.patient_id = mode;
    for (auto format : {settings::WebhookFormat::json, settings::WebhookFormat::slack,
                        settings::WebhookFormat::alertmanager}) {
      r.format = format;
      const auto text = webhook_body(r, n, sample_event(), "mw_1_team", 1700000000);
      INFO(text);
      CHECK(text.find("case-001") == std::string::npos);
    }
  }
  r.patient_id = settings::PatientIdMode::pseudonym;
  r.format = settings::WebhookFormat::slack;
  auto slack = engine::Json::parse(webhook_body(r, n, sample_event(), "mw_1_team", 1700000000));
  CHECK(slack["text"].get<std::string>().starts_with("*HIGH* AFP progression alert #7 new alert"));
  r.format = settings::WebhookFormat::alertmanager;
  auto am = engine::Json::parse(webhook_body(r, n, sample_event(), "mw_1_team", 1700000000));
  REQUIRE(am.is_array());
  CHECK(am[0]["labels"]["alertname"] == "markerwatch_progression");
  CHECK(am[0]["labels"]["patient"] == pseudonym(n.pseudonym_key, "case-001"));
  CHECK(am[0]["endsAt"] == "2024-11-13T22:13:20Z");  // firing: active for a year
}

TEST_CASE("webhook configuration errors name the key and line; secrets stay out of describe()") {
  const char* ok =
      "[notify]\nmax_age_days = 0\nrenotify_after = \"12h\"\npseudonym_key = "
      "\"0123456789abcdef\"\n"
      "[[webhooks]]\nname = \"team\"\nurl = \"http://127.0.0.1:9/hook\"\nsecret = "
      "\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\nheaders = { Authorization = \"Bearer s3cr3t\" "
      "}\npatient_id = \"pseudonym\"\n"
      "[[webhooks]]\nname = \"chat\"\nurl = "
      "\"https://hooks.slack.example/T0/B0/XYZSECRET\"\nformat "
      "= \"slack\"\nevents = [\"new\"]\nmarkers = [\"afp\"]\n";
  auto s = test::settings_from(ok);
  REQUIRE(s.webhooks.size() == 2);
  CHECK(s.notify.renotify_after_s == 12 * 3600);
  CHECK(s.webhooks[1].markers == std::vector<std::string>{"AFP"});
  const auto described = settings::describe(s);
  CHECK(described.find("whsec_") == std::string::npos);
  CHECK(described.find("s3cr3t") == std::string::npos);
  CHECK(described.find("XYZSECRET") == std::string::npos);

  struct Case {
    const char* toml;
    const char* message;
  };
  const Case cases[] = {
      {"[[webhooks]]\nname = \"a\"\nurl = \"http://x/\"\n",
       "test.toml:1:1: webhooks[0].secret: is required for format \"json\""},
      {"[[webhooks]]\nname = \"a\"\nurl = \"ftp://x/\"\nformat = \"slack\"\n",
       "test.toml:3:7: webhooks[0].url: must start with http:// or https://"},
      {"[[webhooks]]\nname = \"a\"\nurl = \"http://x/\"\nsecret = \"abc\"\n",
       "test.toml:4:10: webhooks[0].secret: must be \"whsec_\""},
      {"[[webhooks]]\nname = \"a\"\nurl = \"http://x/\"\nformat = \"teams\"\n",
       "webhooks[0].format: must be"},
      {"[[webhooks]]\nname = \"a\"\nurl = \"http://x/\"\nformat = \"slack\"\nevents = [\"all\"]\n",
       "webhooks[0].events: entries must be"},
      {"[[webhooks]]\nname = \"a\"\nurl = \"http://x/\"\nformat = \"slack\"\npatient_id = "
       "\"pseudonym\"\n",
       "needs [notify] pseudonym_key"},
      {"[[webhooks]]\nname = \"a\"\nurl = \"http://x/\"\nformat = \"slack\"\nretry_schedule = []\n",
       "webhooks[0].retry_schedule: must be a non-empty array"},
      {"[[webhooks]]\nname = \"a b\"\nurl = \"http://x/\"\nformat = \"slack\"\n",
       "webhooks[0].name: use letters"},
      {"[[webhooks]]\nname = \"a\"\nurl = \"http://x/\"\nformat = \"slack\"\n[[webhooks]]\nname = "
       "\"a\"\nurl = \"http://y/\"\nformat = \"slack\"\n",
       "webhooks[1].name: 'a' is used by another receiver"},
      {"[notify]\nrenotify_after = \"soon\"\n",
       "notify.renotify_after: must be \"off\" or a duration"},
      {"[notify]\nmax_age_days = -1\n", "notify.max_age_days: must be between 0 and 36500"},
      {"webhooks = 3\n", "webhooks: must be an array of tables"},
      {"[[webhooks]]\nname = \"a\"\nurl = \"https://x/\"\nformat = \"slack\"\ntls_verify = 0\n",
       "test.toml:5:14: webhooks[0].tls_verify: must be true or false"},
  };
  for (const auto& c : cases) {
    INFO(c.toml);
    CHECK_THROWS_WITH(test::settings_from(c.toml), Catch::Contains(c.message));
  }
}
