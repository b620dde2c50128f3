// Replay on several threads: the same events, in the same order, with the same alert ids, as on
// one thread; and patients named as an import names them.
#include <algorithm>
#include <catch2/catch.hpp>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "engine/alert_json.hpp"
#include "ingest/pipeline_fixture.hpp"
#include "ingest/replay.hpp"
#include "store/alert_store.hpp"
#include "test_support.hpp"

using namespace markerwatch;

namespace {

// The event's rendered line: its pieces joined, as the CLI writes them.
std::string rendered_line(const ingest::ReplayedEvent& e) {
  std::string line;
  for (const auto piece : e.rendered) line.append(piece);
  return line;
}

std::vector<std::string> data_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

// The seed case copied for `patients` patients (p0, p1, ...), rows interleaved visit by visit
// across patients as a lab feed would send them, with one bad row and one correction.
struct ManyPatients {
  std::string milestones = "patient_id,kind,date,end_date,note\n";
  std::string results = "patient_id,marker,collected_at,value,unit,status,obs_id\n";

  explicit ManyPatients(int patients) {
    const auto seed_milestones =
        data_lines(test::read_file(test::shared_dir() / "seed/milestones.csv"));
    const auto seed_results = data_lines(test::read_file(test::shared_dir() / "seed/results.csv"));
    auto rest_of = [](const std::string& line) { return line.substr(line.find(',')); };
    for (int p = 0; p < patients; ++p)
      for (const auto& l : seed_milestones)
        milestones += "p" + std::to_string(p) + rest_of(l) + "\n";
    for (std::size_t i = 0; i < seed_results.size(); ++i)
      for (int p = 0; p < patients; ++p) {
        // Patient 5 sends a bad row; patient 3 gets a corrected value at the very end.
        auto row =
            "p" + std::to_string(p) + rest_of(seed_results[i]) + ",final,o" + std::to_string(i);
        if (p == 5 && i == 7) results += "p5,AFP,2012-01-01,lots,ng/mL,final,bad\n";
        results += row + "\n";
      }
    results +=
        "p3,AFP,2013-07-10,9999,ng/mL,corrected,o" + std::to_string(seed_results.size() / 2) + "\n";
  }
};

// The replay command's JSON lines, without their line ends.
ingest::AlertIdAt render_json(const engine::Event& e, const std::string& patient,
                              std::string& out) {
  std::pair<std::size_t, std::size_t> id_at;
  engine::append_event_json(out, e, patient, nullptr, &id_at);
  return {id_at.first, id_at.second};
}

struct Replayed {
  std::vector<std::string> lines;
  std::vector<std::string> rejections;
  std::vector<engine::TrackedAlert> alerts_p7;
};

// `last_input`: the results file is said to be the last, so histories are let go as they finish.
Replayed replay(const ManyPatients& input, unsigned threads, bool last_input = false) {
  const auto settings = test::utc_settings();
  Replayed out;
  ingest::Replayer replayer(
      settings, [&](const ingest::ReplayedEvent& e) { out.lines.push_back(rendered_line(e)); },
      threads, render_json);
  replayer.feed_csv(input.milestones, "m.csv");
  replayer.feed_csv(input.results, "r.csv", last_input);
  out.rejections = replayer.rejections();
  out.alerts_p7 = replayer.alerts_of("p7");
  return out;
}

}  // namespace

TEST_CASE("replay prints the same events in the same order with the same ids on any threads") {
  const ManyPatients input(1000);  // 1,000 x 34 rows
  const auto one = replay(input, 1);
  REQUIRE(one.lines.size() > 1000 * 3);
  // More than three of the 4 MiB blocks a replay holds its JSON lines in until the end: on 1, 2
  // and 3 threads each thread's texts cross a block's edge. Every line is parsed below, so a text
  // cut or shifted there fails.
  std::size_t bytes = 0;
  for (const auto& l : one.lines) bytes += l.size();
  REQUIRE(bytes > 3 * 4 * 1024 * 1024);
  REQUIRE(one.rejections.size() == 1);
  CHECK_THAT(one.rejections[0], Catch::StartsWith("r.csv:"));
  CHECK_THAT(one.rejections[0], Catch::Contains("not a number"));
  // Alerts are numbered in the order their NEW events are printed.
  std::int64_t expected_id = 1;
  for (const auto& line : one.lines) {
    const auto j = engine::Json::parse(line);
    if (j.at("event") == "new") CHECK(j.at("alert_id").get<std::int64_t>() == expected_id++);
  }
  CHECK(expected_id > 1000 * 3);
  // The last row (p3's correction; p3's other rows come first) is printed last.
  CHECK(engine::Json::parse(one.lines.back()).at("patient_id") == "p3");
  REQUIRE(one.alerts_p7.size() == 3);  // the seed's three alerts
  for (const auto& [threads, last_input] : std::vector<std::pair<unsigned, bool>>{
           {2, false}, {3, false}, {8, false}, {1, true}, {2, true}}) {
    INFO("threads = " << threads << ", last input: " << last_input);
    const auto many = replay(input, threads, last_input);
    CHECK(many.lines == one.lines);
    CHECK(many.rejections == one.rejections);
    REQUIRE(many.alerts_p7.size() == one.alerts_p7.size());
    for (std::size_t i = 0; i < one.alerts_p7.size(); ++i) {
      CHECK(many.alerts_p7[i].id == one.alerts_p7[i].id);
      CHECK(many.alerts_p7[i].alert.summary == one.alerts_p7[i].alert.summary);
    }
  }
}

TEST_CASE("replay deals thousands of patients to its shards and prints what one thread prints") {
  // Patients go to shards in runs of consecutive slots, the shards in turn, 16 shards a thread:
  // 7,000 patients go round the shards more than once on 2 and 3 threads, and a second file adds
  // patients after them and rows for the first ones.
  std::string milestones = "patient_id,kind,date\n",
              first = "patient_id,marker,collected_at,value,unit\n";
  std::string second = first;
  const int patients = 7000;
  for (int p = 0; p < patients; ++p) {
    const auto id = "q" + std::to_string(p);
    milestones += id + ",resection,2015-01-10\n";
    const double scale = 1 + p % 7;
    for (const auto& [date, value] : std::vector<std::pair<std::string, double>>{
             {"2015-01-02", 900}, {"2015-03-01", 4}, {"2015-06-01", 30}, {"2015-08-01", 60}})
      first += id + ",AFP," + date + "," + std::to_string(value * scale) + ",ng/mL\n";
    second += id + ",AFP,2015-10-01," + std::to_string(120 * scale) + ",ng/mL\n";
    second += "late" + std::to_string(p) + ",AFP,2015-10-02,700,ng/mL\n";
  }
  const auto settings = test::utc_settings();
  auto run = [&](unsigned threads) {
    std::vector<std::string> lines;
    ingest::Replayer replayer(
        settings, [&](const ingest::ReplayedEvent& e) { lines.push_back(rendered_line(e)); },
        threads, render_json);
    replayer.feed_csv(milestones, "m.csv");
    replayer.feed_csv(first, "r1.csv");
    replayer.feed_csv(second, "r2.csv", true);
    CHECK(replayer.rejections().empty());
    // Every patient's rows were evaluated: each has its alert.
    int with_alerts = 0;
    for (int p = 0; p < patients; ++p)
      if (!replayer.alerts_of("q" + std::to_string(p)).empty()) ++with_alerts;
    CHECK(with_alerts == patients);
    return lines;
  };
  const auto one = run(1);
  REQUIRE(one.size() > 2 * patients);
  for (const unsigned threads : {2u, 3u}) {
    INFO("threads = " << threads);
    CHECK(run(threads) == one);
  }
}

TEST_CASE("replay on several threads reports broken quoting after the rows before it") {
  const auto settings = test::utc_settings();
  std::vector<std::string> patients;
  ingest::Replayer replayer(
      settings, [&](const ingest::ReplayedEvent& e) { patients.push_back(e.patient); }, 4);
  replayer.feed_csv(
      "patient_id,marker,collected_at,value,unit\n"
      "a,AFP,2020-01-01,5,ng/mL\n"
      "b,AFP,2020-01-02,oops,ng/mL\n"
      "c,AFP,\"2020-01-03,5,ng/mL\n",
      "r.csv");
  REQUIRE(replayer.rejections().size() == 2);
  CHECK_THAT(replayer.rejections()[0], Catch::StartsWith("r.csv:3: "));
  CHECK_THAT(replayer.rejections()[1], Catch::Contains("line 4: unterminated quoted field"));
}

TEST_CASE("replay cuts a file among its threads at line ends of every kind, blank lines too") {
  // Each thread reads a stretch of the rows; rejections name the same lines, and the events are
  // the same, as on one thread.
  // Rows end with `end`, blank lines with `blank`: a lone CR ends a line too.
  for (const auto& [end, blank] : std::vector<std::pair<std::string, std::string>>{
           {"\n", "\n"}, {"\r\n", "\r\n"}, {"\n", "\r"}}) {
    INFO("line ends " << (end == "\n" ? "LF" : "CRLF") << (blank == "\r" ? ", blank CR" : ""));
    std::string results = "patient_id,marker,collected_at,value,unit" + end;
    for (int visit = 0; visit < 12; ++visit)
      for (int p = 0; p < 40; ++p) {
        const auto value = p % 3 == 0 ? std::to_string(5 * (1 << visit)) : "4";
        results += "p" + std::to_string(p) + ",AFP,2020-" + (visit < 9 ? "0" : "") +
                   std::to_string(visit + 1) + "-1" + std::to_string(p % 10) + "," + value +
                   ",ng/mL" + end;
        if (p % 7 == 0) results += blank + blank;
        if (p == 13 && visit % 4 == 1) results += "p13,AFP,2020-01-01,lots,ng/mL" + end;
      }
    const auto settings = test::utc_settings();
    auto run = [&](unsigned threads) {
      std::vector<std::string> lines;
      ingest::Replayer replayer(
          settings,
          [&](const ingest::ReplayedEvent& e) {
            lines.push_back(e.patient + " " + std::string(engine::to_string(e.event.type)) + " " +
                            std::to_string(e.event.alert_id));
          },
          threads);
      replayer.feed_csv(results, "r.csv");
      return std::make_pair(lines, replayer.rejections());
    };
    const auto one = run(1);
    REQUIRE(one.second.size() == 3);
    CHECK_THAT(one.second[0], Catch::StartsWith("r.csv:") && Catch::Contains("not a number"));
    CHECK(std::count_if(one.first.begin(), one.first.end(), [](const std::string& l) {
            return l.find(" new ") != std::string::npos;
          }) >= 10);
    for (const unsigned threads : {2u, 3u, 7u}) {
      INFO("threads = " << threads);
      const auto many = run(threads);
      CHECK(many.first == one.first);
      CHECK(many.second == one.second);
    }
  }
}

TEST_CASE("replay on several threads stops where a row breaks the CSV, also without quotes") {
  // A row of 70 fields stops the reading (the reader's limit is 64). The rows after it, in this
  // thread's stretch and in the next ones, are not replayed, as on one thread.
  // Ten patients, a value every two months, doubling.
  std::string results = "patient_id,marker,collected_at,value,unit\n";
  std::size_t cut = 0;
  for (int i = 0; i < 120; ++i) {
    const int visit = i / 10;
    results += "p" + std::to_string(i % 10) + ",AFP," + std::to_string(2010 + visit / 6) + "-" +
               (visit % 6 < 5 ? "0" : "") + std::to_string(2 * (visit % 6) + 1) + "-01," +
               std::to_string(10 << visit) + ",ng/mL\n";
    if (i == 35) results += "p1,AFP,2020-01-03,oops,ng/mL\n";
    if (i == 50) cut = results.size();
  }
  const auto broken =
      results.substr(0, cut) + "p2" + std::string(69, ',') + "\n" + results.substr(cut);
  const auto settings = test::utc_settings();
  auto run = [&](const std::string& text, unsigned threads) {
    std::vector<std::string> patients;
    ingest::Replayer replayer(
        settings, [&](const ingest::ReplayedEvent& e) { patients.push_back(e.patient); }, threads);
    replayer.feed_csv(text, "r.csv");
    return std::make_pair(patients, replayer.rejections());
  };
  const auto whole = run(results, 1);
  const auto one = run(broken, 1);
  CHECK(one.first.size() < whole.first.size());  // the rows after the break gave events
  CHECK(!one.first.empty());
  REQUIRE(one.second.size() == 2);
  CHECK_THAT(one.second[0], Catch::StartsWith("r.csv:38: "));
  CHECK_THAT(one.second[1], Catch::Contains("line 54: more than 64 fields"));
  for (const unsigned threads : {2u, 3u}) {
    const auto many = run(broken, threads);
    CHECK(many.first == one.first);
    CHECK(many.second == one.second);
  }
}

TEST_CASE("replay refuses an input after the last one, and still answers for the alerts") {
  const auto settings = test::utc_settings();
  std::size_t events = 0;
  ingest::Replayer replayer(
      settings, [&](const ingest::ReplayedEvent&) { ++events; }, 2);
  const std::string results =
      "patient_id,marker,collected_at,value,unit\n"
      "a,AFP,2020-01-01,5,ng/mL\n"
      "a,AFP,2020-03-01,50,ng/mL\n"
      "a,AFP,2020-05-01,500,ng/mL\n"
      "a,AFP,2020-06-01,900,ng/mL\n";
  replayer.feed_csv(results, "r.csv", /*last_input=*/true);
  CHECK(events > 0);
  const auto alerts = replayer.alerts_of("a");
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].id == 1);
  CHECK_THROWS_AS(replayer.feed_csv(results, "again.csv"), std::logic_error);
  ResultRecord late;
  late.patient = {"a", ""};
  CHECK_THROWS_AS(replayer.add_result(late), std::logic_error);
  CHECK(replayer.alerts_of("a").size() == 1);
}

TEST_CASE(
    "replay names patients as an import does: milestones without an authority reach the "
    "lab's results") {
  // The seed case as a lab would send it: results under the hospital's assigning authority,
  // milestones typed in without one.
  const auto milestones = test::read_file(test::shared_dir() / "seed/milestones.csv");
  std::string results = "patient_id,marker,collected_at,value,unit\n";
  for (const auto& line : data_lines(test::read_file(test::shared_dir() / "seed/results.csv")))
    results += "case-001^HOSP" + line.substr(line.find(',')) + "\n";

  const auto settings = test::utc_settings();
  std::vector<ingest::ReplayedEvent> events;
  ingest::Replayer replayer(
      settings, [&](const ingest::ReplayedEvent& e) { events.push_back(e); }, 2);
  replayer.feed_csv(milestones, "m.csv");
  replayer.feed_csv(results, "r.csv");
  CHECK(replayer.rejections().empty());
  std::vector<engine::Alert> replayed;
  for (const auto& t : replayer.alerts_of("case-001"))  // the key it was first written as
    if (t.state != engine::AlertState::retracted) replayed.push_back(t.alert);
  CHECK(replayer.alerts_of("case-001^HOSP").empty());  // not a second patient
  REQUIRE(replayed.size() == 3);                       // the seed's three alerts, anchored
  for (const auto& e : events) CHECK(e.patient == "case-001");

  test::PipelineFixture imported;
  CHECK(imported.import(milestones, "m.csv").rejections.empty());
  CHECK(imported.import(results, "r.csv").rejections.empty());
  CHECK(imported.count("SELECT count(*) FROM patients") == 1);
  const auto stored = store::AlertStore(imported.db).alerts({});
  REQUIRE(stored.size() == replayed.size());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    INFO("alert " << i + 1 << ": " << replayed[i].summary);
    CHECK(engine::same_state(stored[i].alert, replayed[i]));
  }
}

TEST_CASE("replay removes a milestone entered in error as an import does") {
  std::string milestones = "patient_id,kind,date,end_date,note,status\n";
  for (const auto& line : data_lines(test::read_file(test::shared_dir() / "seed/milestones.csv")))
    milestones += line + ",\n";  // the seed's columns are those before status
  milestones += "case-001,resection,2016-10-20,,,entered-in-error\n";
  const auto results = test::read_file(test::shared_dir() / "seed/results.csv");

  const auto settings = test::utc_settings();
  ingest::Replayer replayer(
      settings, [&](const ingest::ReplayedEvent&) {}, 2);
  replayer.feed_csv(milestones, "m.csv");
  replayer.feed_csv(results, "r.csv");
  REQUIRE(replayer.rejections().empty());
  std::vector<engine::Alert> replayed;
  for (const auto& t : replayer.alerts_of("case-001"))
    if (t.state != engine::AlertState::retracted) replayed.push_back(t.alert);
  // Without the 2016 resection there is no failure to fall after it: the two rises remain.
  REQUIRE(replayed.size() == 2);
  for (const auto& a : replayed) CHECK(a.identity.cls == engine::AlertClass::progression);

  test::PipelineFixture imported;
  CHECK(imported.import(milestones, "m.csv").rejections.empty());
  CHECK(imported.import(results, "r.csv").rejections.empty());
  const auto stored = store::AlertStore(imported.db).alerts({});
  REQUIRE(stored.size() == replayed.size());
  for (std::size_t i = 0; i < stored.size(); ++i)
    CHECK(engine::same_state(stored[i].alert, replayed[i]));
}

TEST_CASE(
    "replay refuses an identifier that names several patients, once per file, as an "
    "import does") {
  const auto milestones_csv =
      "patient_id,kind,date\n"
      "x^A,resection,2020-01-01\n"
      "x^B,resection,2020-02-01\n"
      "x,tace,2020-03-01\n"
      "x,tace,2020-04-01\n"
      "y,tace,2020-03-01\n"
      "y^A,resection,2020-04-01\n"  // claims y
      "y^B,resection,2020-05-01\n";
  const auto settings = test::utc_settings();
  std::size_t events = 0;
  ingest::Replayer replayer(settings, [&](const ingest::ReplayedEvent&) { ++events; });
  replayer.feed_csv(milestones_csv, "m.csv");
  REQUIRE(replayer.rejections().size() == 2);
  CHECK_THAT(replayer.rejections()[0],
             Catch::StartsWith("m.csv:4: ") &&
                 Catch::Contains("several assigning authorities (A, B)") &&
                 Catch::Contains("x^AUTHORITY"));
  CHECK_THAT(replayer.rejections()[1], Catch::StartsWith("m.csv:5: "));
  // In the next file "y" names the patient it named at its first appearance, now y^A, no longer
  // stored without an authority: with y^B beside it, it names two.
  replayer.feed_csv("patient_id,kind,date\ny,tace,2020-06-01\n", "m2.csv");
  REQUIRE(replayer.rejections().size() == 3);
  CHECK_THAT(replayer.rejections()[2],
             Catch::StartsWith("m2.csv:2: ") && Catch::Contains("(A, B)"));

  test::PipelineFixture imported;
  CHECK(imported.import(milestones_csv, "m.csv").rejections.size() == 2);
  CHECK(imported.import("patient_id,kind,date\ny,tace,2020-06-01\n", "m2.csv").rejections.size() ==
        1);
  CHECK(imported.count("SELECT count(*) FROM milestones") == 5);
}

namespace {

// Rows of patients f0, f1, ... that name no one else: they set the rows below apart, so that on
// several threads they fall in different stretches of the file.
std::string filler(int from, int count) {
  std::string rows;
  for (int p = from; p < from + count; ++p)
    rows += "f" + std::to_string(p) + ",AFP,2020-01-01,5,ng/mL\n";
  return rows;
}

struct Named {
  std::vector<std::string> rejections;
  std::vector<std::string> new_alert_patients;
};

Named replay_named(const std::string& results, unsigned threads) {
  const auto settings = test::utc_settings();
  Named out;
  ingest::Replayer replayer(
      settings,
      [&](const ingest::ReplayedEvent& e) {
        if (e.event.type == engine::EventType::new_alert)
          out.new_alert_patients.push_back(e.patient);
      },
      threads);
  replayer.feed_csv(results, "r.csv", true);
  out.rejections = replayer.rejections();
  return out;
}

}  // namespace

TEST_CASE("replay names a patient where it first appears, on a refused row too, as an import") {
  // An import names each written patient where it first appears in the file, if one of its rows
  // is valid. x^A is named on its refused first row, before "x", which then names it too; x^B is
  // another patient. y^A has no valid row and names no one: "y" makes a patient, which y^B
  // claims. Each pair's values are one series, with a rise from 5 to 100, confirmed by 120.
  const std::string results =
      "patient_id,marker,collected_at,value,unit\n" + filler(0, 40) +
      "x^A,AFP,2020-01-02,lots,ng/mL\n" + "y^A,AFP,2020-01-02,lots,ng/mL\n" + filler(40, 40) +
      "x,AFP,2020-02-01,5,ng/mL\n" + "y,AFP,2020-02-01,5,ng/mL\n" + filler(80, 40) +
      "x^B,AFP,2020-03-01,6,ng/mL\n" + "y^B,AFP,2020-03-01,100,ng/mL\n" + filler(120, 40) +
      "x^A,AFP,2020-04-01,100,ng/mL\n" + "y^B,AFP,2020-03-20,120,ng/mL\n" + filler(160, 40) +
      "x^A,AFP,2020-04-20,120,ng/mL\n" + filler(200, 40);
  test::PipelineFixture imported;
  const auto report = imported.import(results, "r.csv");
  REQUIRE(report.rejections.size() == 2);
  CHECK(imported.count("SELECT count(*) FROM patients") == 240 + 3);  // x^A, x^B; y (now y^B)
  CHECK(imported.count("SELECT count(*) FROM alerts") == 2);

  for (unsigned threads = 1; threads <= 5; ++threads) {
    INFO("threads = " << threads);
    const auto named = replay_named(results, threads);
    REQUIRE(named.rejections.size() == 2);
    CHECK_THAT(named.rejections[0], Catch::StartsWith("r.csv:42: ") && Catch::Contains("lots"));
    CHECK_THAT(named.rejections[1], Catch::StartsWith("r.csv:43: ") && Catch::Contains("lots"));
    // Named otherwise, x^A's or y^B's values would be a patient of their own, without the 5.
    CHECK(named.new_alert_patients == std::vector<std::string>{"y", "x"});
  }
}

TEST_CASE("replay: a row's own fault is its reason before a patient it cannot name") {
  // x^A and x^B are two patients, so "x" names neither. Its rows are refused for that, unless the
  // row is wrong in itself: then that is the reason, as in an import.
  const std::string results =
      "patient_id,marker,collected_at,value,unit\n" + filler(0, 30) +
      "x^A,AFP,2020-01-02,7,ng/mL\n" + filler(30, 30) + "x^B,AFP,2020-01-03,7,ng/mL\n" +
      filler(60, 30) + "x,AFP,2020-01-04,lots,ng/mL\n" + filler(90, 30) +
      "x,AFP,2020-01-05,8,ng/mL\n" + filler(120, 30) + "x,AFP,2020-01-06,much,ng/mL\n" +
      "x,AFP,2020-01-07,9,ng/mL\n" + filler(150, 30);
  test::PipelineFixture imported;
  const auto report = imported.import(results, "r.csv");
  REQUIRE(report.rejections.size() == 4);
  std::vector<std::string> expected;
  for (const auto& r : report.rejections)
    expected.push_back("r.csv:" + std::to_string(r.line) + ": " + r.reason);
  CHECK_THAT(expected[0], Catch::Contains("lots"));
  CHECK_THAT(expected[1], Catch::Contains("(A, B)"));
  CHECK_THAT(expected[2], Catch::Contains("much"));
  CHECK_THAT(expected[3], Catch::Contains("(A, B)"));
  for (unsigned threads = 1; threads <= 5; ++threads) {
    INFO("threads = " << threads);
    CHECK(replay_named(results, threads).rejections == expected);
  }
}
