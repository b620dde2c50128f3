// The streaming JSON writer must give the same bytes as nlohmann's dump(): alert evidence and
// alert-log lines written by it are parsed back (and compared) as nlohmann documents.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "engine/alert_json.hpp"
#include "engine/json_writer.hpp"

using markerwatch::engine::append_json_string;
using markerwatch::engine::JsonWriter;

namespace {
std::string written(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}
}  // namespace

TEST_CASE("JSON strings are escaped exactly as nlohmann dumps them") {
  const std::vector<std::string> samples = {"",
                                            "plain ASCII text",
                                            "quote \" and backslash \\ and slash /",
                                            "controls \b\f\n\r\t and \x01\x1f and DEL \x7f",
                                            std::string("a NUL \0 inside", 14),
                                            "Müller, 東京, emoji \xF0\x9F\x98\x80",
                                            "AFP 1,240 ng/mL (>2x ULN) since 2016-05-04 resection"};
  for (const auto& s : samples) {
    INFO(s);
    CHECK(written(s) == nlohmann::json(s).dump());
  }
}

TEST_CASE("a character to escape is found at any place in a string of any length") {
  // Plain text is taken eight bytes at a time: each kind of byte that is not plain, at every
  // offset of strings up to 40 bytes long, next to plain bytes on both sides of the boundaries.
  const std::vector<std::string> specials = {std::string(1, '\0'),
                                             "\x01",
                                             "\x1f",
                                             "\n",
                                             "\"",
                                             "\\",
                                             "\x7f",
                                             " ",
                                             "~",
                                             "\xC3\xA9",
                                             "\xE6\x9D\xB1",
                                             "\xF0\x9F\x98\x80"};
  std::size_t differing = 0, checked = 0;
  for (const auto& special : specials) {
    for (std::size_t size = 1; size <= 40; ++size) {
      for (std::size_t at = 0; at < size; ++at) {
        std::string s;
        for (std::size_t k = 0; k < size; ++k) s += static_cast<char>('a' + k % 26);
        s.replace(at, 1, special);
        ++checked;
        if (written(s) != nlohmann::json(s).dump()) ++differing;
      }
    }
  }
  CHECK(checked == specials.size() * 820);
  CHECK(differing == 0);
}

TEST_CASE("bytes that are not UTF-8 become U+FFFD, as nlohmann's replace handler does") {
  const std::vector<std::string> samples = {
      "truncated \xC3",         "lone continuation \x80 byte",     "overlong \xC0\xAF slash",
      "surrogate \xED\xA0\x80", "above U+10FFFF \xF4\x90\x80\x80", "latin-1 caf\xE9"};
  for (const auto& s : samples) {
    INFO(s);
    const auto expected =
        nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    CHECK(written(s) == expected);
    CHECK(nlohmann::json::parse(written(s)).is_string());
  }
}

TEST_CASE("numbers, nesting and separators match nlohmann's compact dump") {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .key("a")
      .number(340.0)
      .key("b")
      .number(29.37)
      .key("c")
      .number(1e21)
      .key("d")
      .number(0.1 + 0.2)
      .key("e")
      .number(std::numeric_limits<double>::quiet_NaN())
      .key("f")
      .integer(-42)
      .key("g")
      .begin_array()
      .boolean(true)
      .null()
      .begin_object()
      .end_object()
      .begin_array()
      .end_array()
      .string("x")
      .end_array()
      .key("h")
      .boolean(false)
      .end_object();
  nlohmann::ordered_json expected = {
      {"a", 340.0},
      {"b", 29.37},
      {"c", 1e21},
      {"d", 0.1 + 0.2},
      {"e", std::numeric_limits<double>::quiet_NaN()},
      {"f", -42},
      {"g", {true, nullptr, nlohmann::json::object(), nlohmann::json::array(), "x"}},
      {"h", false}};
  CHECK(out == expected.dump());
}

TEST_CASE("member names of any length and integers at their limits match nlohmann's dump") {
  // Names up to 60 characters are written with their separators in one piece, longer ones in
  // parts: both sides of that limit, first and later in an object.
  const std::string at_limit(60, 'n'), past_limit(61, 'p'), long_name(300, 'l');
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .key(past_limit)
      .integer(std::numeric_limits<std::int64_t>::min())
      .key(at_limit)
      .integer(std::numeric_limits<std::int64_t>::max())
      .key(long_name)
      .begin_object()
      .key(long_name)
      .integer(0)
      .key("")
      .integer(-1)
      .end_object()
      .end_object();
  nlohmann::ordered_json expected = {{past_limit, std::numeric_limits<std::int64_t>::min()},
                                     {at_limit, std::numeric_limits<std::int64_t>::max()},
                                     {long_name, nlohmann::ordered_json{{long_name, 0}, {"", -1}}}};
  CHECK(out == expected.dump());
}

TEST_CASE("an alert written as text reads back as the same alert") {
  using namespace markerwatch::engine;
  Alert a;
  a.identity = {"AFP", "abbott", AlertClass::residual, 16956, 1};
  a.anchor = Anchor{"resection+tace", 16956, true};
  a.rules = {Rule::nodecline, Rule::nonorm};
  a.event_day = 16980;
  a.fire_day = 16995;
  a.value = {1240.5, markerwatch::Comparator::greater, 16980};
  a.unit = "ng/mL";
  a.confirmer = DatedValue{1302, markerwatch::Comparator::none, 16995};
  a.baseline = DatedValue{2100, markerwatch::Comparator::none, 16950};
  a.nadir = DatedValue{8.25, markerwatch::Comparator::less, 16970};
  a.change_pct = -40.93;
  a.change_abs = -859.5;
  a.later_firings = {{Rule::rise, 17001, 17015, {1500, markerwatch::Comparator::none, 17001}}};
  a.resolved_day = 17100;
  a.severity = Severity::high;
  a.summary = "AFP \"residual\" \xE2\x80\x94 1,240.5 ng/mL";
  const auto text = alert_json_text(a);
  CHECK(alert_from_json(nlohmann::ordered_json::parse(text)) == a);
  CHECK(to_json(a).dump() == text);

  Event e;
  e.type = EventType::update;
  e.alert_id = 7;
  e.alert = a;
  e.state = AlertState::acknowledged;
  e.previous_severity = Severity::standard;
  const auto line = event_json_text(e, "H\"1");
  const auto parsed = nlohmann::ordered_json::parse(line);
  CHECK(parsed.at("event") == "update");
  CHECK(parsed.at("alert_id") == 7);
  CHECK(parsed.at("patient_id") == "H\"1");
  CHECK(parsed.at("state") == "acknowledged");
  CHECK(parsed.at("previous_severity") == "standard");
  CHECK(parsed.at("doubling_time_days").is_null());
  CHECK(parsed.dump() == line);
  // The alert log embeds the evidence it stores instead of writing the alert twice.
  CHECK(event_json_text(e, "H\"1", &text) == line);
}

TEST_CASE("an object's members spliced into another keep the separators right") {
  std::string inner, out;
  JsonWriter(inner).begin_object().key("x").integer(1).key("y").string("a,}").end_object();
  JsonWriter w(out);
  w.begin_object().members_of(inner).key("z").null().end_object();
  CHECK(out == R"({"x":1,"y":"a,}","z":null})");
  out.clear();
  w.begin_object().key("a").boolean(true).members_of(inner).members_of("{}").end_object();
  CHECK(out == R"({"a":true,"x":1,"y":"a,}"})");
}

TEST_CASE("every double is written as nlohmann's dump() writes it") {
  std::mt19937_64 random(20261128);
  std::vector<double> values = {0.0,   -0.0,   1.0,
                                0.1,   1e-7,   123456789012345678.0,
                                1e300, 5e-324, std::numeric_limits<double>::infinity(),
                                2100,  0.35,   7.2e15};
  std::uniform_real_distribution<double> lab(0.0, 100000.0);
  for (int i = 0; i < 20000; ++i) {
    values.push_back(lab(random));
    values.push_back(std::round(lab(random) * 100) / 100);  // as reported, 2 decimals
    std::uint64_t bits = random();
    double any = 0;
    std::memcpy(&any, &bits, sizeof any);
    values.push_back(any);  // every exponent, NaNs included
  }
  int differing = 0;
  for (double v : values) {
    std::string out;
    JsonWriter(out).number(v);
    if (out != nlohmann::json(v).dump()) ++differing;
  }
  CHECK(differing == 0);
}
