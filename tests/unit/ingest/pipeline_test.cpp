#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "core/timestamp.hpp"
#include "hl7/hl7_builders.hpp"
#include "hl7/message.hpp"
#include "ingest/pipeline.hpp"
#include "ingest/pipeline_fixture.hpp"
#include "store/alert_store.hpp"
#include "store/migrations.hpp"
#include "store/result_store.hpp"
#include "test_support.hpp"

using namespace markerwatch;

namespace {

struct Fixture : test::PipelineFixture {
  ingest::Hl7Outcome send(const std::string& text) {
    store::Transaction txn(db);
    auto out = pipeline->store_hl7(pipeline->prepare_hl7(text), "mllp", "127.0.0.1:1");
    txn.commit();
    return out;
  }
  std::string msa(const ingest::Hl7Outcome& o) {
    auto m = hl7::Message::parse(o.ack);
    return m.value(m.first("MSA")->field(1)) + "|" + m.value(m.first("MSA")->field(2));
  }
};

}  // namespace

TEST_CASE("an accepted message is stored with its raw bytes and answered AA") {
  Fixture f;
  auto text = test::oru({test::afp_obx("45985")}, "C-1");
  auto out = f.send(text);
  CHECK(out.outcome == "accepted");
  CHECK(f.msa(out) == "AA|C-1");
  CHECK(f.count("SELECT count(*) FROM results WHERE effective = 1") == 1);
  auto q = f.db.prepare("SELECT raw, outcome, ack_code, sender, control_id FROM messages");
  REQUIRE(q.step());
  CHECK(q.text(0) == text);
  CHECK(q.text(1) == "accepted");
  CHECK(q.text(2) == "AA");
  CHECK(q.text(3) == "LAB|HOSP");
  CHECK(q.text(4) == "C-1");
}

TEST_CASE("a re-sent message is answered AA and stores nothing twice") {
  Fixture f;
  auto text = test::oru({test::afp_obx("45985")}, "C-1");
  f.send(text);
  auto again = f.send(text);
  CHECK(again.outcome == "duplicate");
  CHECK(f.msa(again) == "AA|C-1");
  CHECK(f.count("SELECT count(*) FROM results") == 1);
  CHECK(f.count("SELECT count(*) FROM messages") == 2);
  CHECK(f.count("SELECT count(*) FROM messages WHERE duplicate_of IS NOT NULL AND raw IS NULL") ==
        1);
  // Same control id, different content: processed as new (ids get reused by some senders).
  auto reused = f.send(test::oru({test::afp_obx("50000")}, "C-1"));
  CHECK(reused.outcome == "accepted");
  CHECK(f.count("SELECT count(*) FROM results") == 2);
}

TEST_CASE("a message that asks for enhanced-mode acknowledgements gets the original-mode one") {
  // MSH-15 / MSH-16 set (accept ack always, application ack never): markerwatch answers once,
  // after the commit, in original mode (README, How messages are handled).
  Fixture f;
  auto out = f.send(test::oru({test::afp_obx("45985")}, "E-1",
                              "PID|1||case-001^^^HOSP^MR||Doe^Jane", "P|2.5.1|||AL|NE"));
  CHECK(out.outcome == "accepted");
  CHECK(f.msa(out) == "AA|E-1");
  out = f.send(test::oru({test::afp_obx("45985", "furlongs")}, "E-2",
                         "PID|1||case-001^^^HOSP^MR||Doe^Jane", "P|2.5.1|||ER|ER"));
  CHECK(f.msa(out) == "AE|E-2");
}

TEST_CASE("a message's row holds the outcome it was answered with, also when storing changed it") {
  // The row is written with the outcome expected before the results are stored, and rewritten
  // only when storing ends otherwise.
  Fixture f;
  auto stored_row = [&f](const ingest::Hl7Outcome& out) {
    auto q = f.db.prepare(
        "SELECT outcome || '|' || ack_code || '|' || results_stored || '|' || "
        "observations_ignored || '|' || error FROM messages WHERE id = ?1");
    q.bind(1, out.message_id);
    REQUIRE(q.step());
    return q.text(0);
  };
  auto first = f.send(test::oru({test::afp_obx("45985")}, "C-1"));
  CHECK(stored_row(first) == "accepted|AA|1|0|");
  // The same value again under a new control id: nothing new to store.
  auto same_value = f.send(test::oru({test::afp_obx("45985")}, "C-2"));
  CHECK(same_value.outcome == "accepted");
  CHECK(same_value.stored == 0);
  CHECK(stored_row(same_value) == "accepted|AA|0|0|");
  // A patient that PID-3 does not name uniquely is found only while storing.
  CHECK(f.send(test::oru({test::afp_obx("20")}, "C-3", "PID|1||case-001^^^CLINIC^MR||Doe^J"))
            .outcome == "accepted");
  auto ambiguous = f.send(test::oru({test::afp_obx("50")}, "C-4", "PID|1||case-001||Doe^J"));
  CHECK(ambiguous.outcome == "rejected");
  CHECK_THAT(stored_row(ambiguous), Catch::StartsWith("rejected|AE|0|0|PID[1]: ") &&
                                        Catch::Contains("case-001^AUTHORITY"));
  // A message with one usable and one unusable observation: partial from the start.
  auto partial = f.send(test::oru({test::afp_obx("60"), test::afp_obx("61", "furlongs")}, "C-5"));
  CHECK(partial.outcome == "partial");
  CHECK_THAT(stored_row(partial), Catch::StartsWith("partial|AE|1|0|OBX"));
  auto duplicate = f.send(test::oru({test::afp_obx("45985")}, "C-1"));
  CHECK(stored_row(duplicate) == "duplicate|AA|0|0|");
  CHECK(f.count("SELECT count(*) FROM messages WHERE duplicate_of = " +
                std::to_string(first.message_id) + " AND raw IS NULL") == 1);
}

TEST_CASE("bad messages are kept with their reason, answered AE/AR, and change nothing stored") {
  Fixture f;
  f.send(test::oru({test::afp_obx("6.8")}, "GOOD"));
  const auto results_before = f.count("SELECT count(*) FROM results");
  struct Case {
    std::string bytes;
    std::string ack;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"", "AE|", "empty message"},
      {"garbage \x01\x02", "AE|", "does not start with an MSH"},
      {"MSH|^~\\&|LAB|HOSP|||2016||ORU^R01|T1|P|2.5\rPID|1||X\r", "AE|T1", "no observations"},
      {test::oru({test::afp_obx("5")}, "T2", "PID|1||"), "AE|T2", "no patient identifier"},
      {test::oru({test::afp_obx("5", "furlongs")}, "T3"), "AE|T3", "cannot be converted"},
      {test::oru({test::afp_obx("lots")}, "T4"), "AE|T4", "not a number"},
      {test::oru({test::afp_obx("5")}, "T5", "PID|1||case-001", "T|2.5.1"), "AR|T5",
       "processing id"},
      {test::oru({test::afp_obx("5")}, "T6", "PID|1||case-001", "P|2.8"), "AR|T6",
       "unsupported HL7 version"},
      {test::oru({test::afp_obx(std::string("5\xff"))}, "T7"), "AE|T7", "not valid UTF-8"},
      {[] {  // truncated in the middle of an OBX, before its status
         auto t = test::oru({test::afp_obx("5")}, "T8");
         return t.substr(0, t.find("|||F|"));
       }(),
       "AE|T8", "OBX-11"},
      {"MSH|^~\\&|LAB|HOSP|||2016||ORU^R01|T9|P|2.5\rPID|1||p\rOBR|1|O|F|x|||2016131512\r" +
           test::afp_obx("5", "ng/mL", "F", "NM", "") + "\r",
       "AE|T9", "collection time"},
  };
  for (const auto& c : cases) {
    INFO(c.reason);
    auto out = f.send(c.bytes);
    CHECK(f.msa(out) == c.ack);
    CHECK(out.outcome == "rejected");
    CHECK_THAT(out.error, Catch::Contains(c.reason));
  }
  CHECK(f.count("SELECT count(*) FROM results") == results_before);
  CHECK(f.count("SELECT count(*) FROM messages WHERE outcome = 'rejected' AND raw IS NOT NULL") ==
        static_cast<std::int64_t>(cases.size()));
}

TEST_CASE("a message with some bad observations keeps the good ones and answers AE") {
  Fixture f;
  auto out = f.send(test::oru({test::afp_obx("5"), test::afp_obx("7", "mg/dL")}, "P1"));
  CHECK(out.outcome == "partial");
  CHECK(out.stored == 1);
  CHECK(f.msa(out) == "AE|P1");
  CHECK_THAT(out.ack, Catch::Contains("ERR|OBX^2^6"));
  // After the sender fixes the observation, the re-sent message is processed again.
  auto fixed = f.send(test::oru({test::afp_obx("5"), test::afp_obx("7", "ug/L")}, "P1"));
  CHECK(fixed.outcome == "accepted");
  CHECK(f.count("SELECT count(*) FROM results") == 2);
}

TEST_CASE("an inbound ACK is logged and never answered") {
  Fixture f;
  auto out = f.send("MSH|^~\\&|A|B|||2016||ACK^R01|9|P|2.5\rMSA|AA|1\r");
  CHECK_FALSE(out.acknowledge);
  CHECK(out.ack.empty());
  CHECK(f.count("SELECT count(*) FROM messages WHERE outcome = 'ignored'") == 1);
}

TEST_CASE("an oversized frame is logged by its head and answered AR") {
  Fixture f;
  auto out = f.pipeline->reject_oversized("MSH|^~\\&|LAB|HOSP|||2016||ORU^R01|BIG|P|2.5\rPID", 1024,
                                          "mllp", "peer");
  CHECK(f.msa(out) == "AR|BIG");
  CHECK(f.count("SELECT count(*) FROM messages WHERE outcome = 'rejected' AND error LIKE 'frame "
                "exceeds%'") == 1);
}

TEST_CASE("the seed case imports from CSV; re-import changes nothing") {
  Fixture f;
  auto results = test::read_file(test::shared_dir() / "seed/results.csv");
  auto report = f.import(results, "results.csv");
  CHECK(report.kind == "results");
  CHECK(report.accepted == 34);
  CHECK(report.rejected == 0);
  auto again = f.import(results, "results.csv");
  CHECK(again.unchanged == 1);
  auto ms = f.import(test::read_file(test::shared_dir() / "seed/milestones.csv"), "milestones.csv");
  CHECK(ms.kind == "milestones");
  CHECK(ms.accepted == 11);
  CHECK(f.count("SELECT count(*) FROM results WHERE effective = 1") == 34);
  CHECK(f.count("SELECT count(*) FROM results WHERE comparator = '>' AND value = 35000") == 1);
}

TEST_CASE("a milestone after same-day values of one finding logs the finding once") {
  // Two equal values on one day fall inside the flare window of a systemic therapy that arrives
  // later: the evaluation finds the guarded candidate twice, the alert log keeps its key once.
  // (The import failed with a UNIQUE constraint error before, storing nothing.)
  Fixture f;
  auto results = f.import(
      "patient_id,marker,collected_at,value,unit,status,obs_id\n"
      "p1,AFP,2020-01-01,400,ng/mL,final,a1\n"
      "p1,AFP,2020-01-20,100,ng/mL,final,a2\n"
      "p1,AFP,2020-02-10,50,ng/mL,final,a3\n"
      "p1,AFP,2020-03-05,300,ng/mL,final,a4\n"
      "p1,AFP,2020-03-05,300,ng/mL,final,a5\n");
  CHECK(results.accepted == 5);
  auto milestone = f.import("patient_id,kind,date\np1,systemic_start,2020-02-20\n", "m.csv");
  CHECK(milestone.accepted == 1);
  CHECK(milestone.rejected == 0);
  CHECK(f.count("SELECT count(*) FROM milestones") == 1);
  CHECK(f.count("SELECT count(*) FROM alert_events WHERE note_key LIKE 'flare_guard|%'") == 1);
}

TEST_CASE("a milestones row entered in error removes the milestone and retracts its alert") {
  Fixture f;
  f.import(test::read_file(test::shared_dir() / "seed/milestones.csv"), "milestones.csv");
  f.import(test::read_file(test::shared_dir() / "seed/results.csv"), "results.csv");
  REQUIRE(f.count("SELECT count(*) FROM alerts WHERE rules = 'R_NODECLINE' AND "
                  "state <> 'retracted'") == 1);
  const auto patients = f.count("SELECT count(*) FROM patients");
  const auto milestones = f.count("SELECT count(*) FROM milestones");

  // Not removals: another patient's, another day's, one naming other markers, a bad status.
  auto none = f.import(
      "patient_id,kind,date,markers,status\n"
      "ghost,resection,2016-10-20,,entered-in-error\n"
      "case-001,resection,2016-10-21,,entered-in-error\n"
      "case-001,resection,2016-10-20,AFP,entered-in-error\n"
      "case-001,resection,2016-10-20,,removed\n",
      "none.csv");
  CHECK(none.accepted == 0);
  CHECK(none.unchanged == 3);
  REQUIRE(none.rejections.size() == 1);
  CHECK(none.rejections[0].line == 5);
  CHECK(f.count("SELECT count(*) FROM patients") == patients);  // no patient "ghost" added
  CHECK(f.count("SELECT count(*) FROM milestones") == milestones);

  auto removal = f.import(
      "patient_id,kind,date,end_date,note,status\n"
      "case-001,resection,2016-10-20,,typed on the wrong chart,entered-in-error\n",
      "removal.csv");
  CHECK(removal.accepted == 1);
  CHECK(f.count("SELECT count(*) FROM milestones") == milestones - 1);
  CHECK(f.count("SELECT count(*) FROM milestones WHERE kind = 'resection'") == 0);
  CHECK(f.count("SELECT count(*) FROM alerts WHERE rules = 'R_NODECLINE' AND "
                "state = 'retracted'") == 1);
  CHECK(f.count("SELECT count(*) FROM alert_events WHERE event = 'retract' AND "
                "cause = 'file:removal.csv'") == 1);
  // The milestone log keeps the resection as it was, and the file that removed it.
  CHECK(f.count("SELECT count(*) FROM milestone_changes c JOIN messages m ON m.id = c.message_id "
                "WHERE c.change = 'removed' AND c.kind = 'resection' AND c.date = '2016-10-20' AND "
                "c.source = 'csv' AND m.peer LIKE '%removal.csv'") == 1);
  CHECK(f.count("SELECT count(*) FROM milestone_changes WHERE change = 'added'") == milestones);
  // Again: nothing left to remove, nothing changes, nothing is logged.
  CHECK(
      f.import("patient_id,kind,date,status\ncase-001,resection,2016-10-20,deleted\n", "again.csv")
          .unchanged == 1);
  CHECK(f.count("SELECT count(*) FROM milestone_changes") == milestones + 1);
}

TEST_CASE("a milestone without an authority and the lab's results name one patient") {
  Fixture f;
  // Entered before the lab's first result: the HL7 patient (case-001 from HOSP) is that patient.
  auto early = f.import("patient_id,kind,date\ncase-001,resection,2016-10-20\n", "m.csv");
  CHECK(early.accepted == 1);
  CHECK(f.send(test::oru({test::afp_obx("45985")}, "C-1")).outcome == "accepted");
  CHECK(f.count("SELECT count(*) FROM patients") == 1);
  CHECK(f.count("SELECT count(*) FROM patients WHERE identifier = 'case-001' AND "
                "authority = 'HOSP'") == 1);
  // Entered after it, with or without the authority: the same patient again.
  auto later = f.import(
      "patient_id,kind,date\ncase-001,tace,2016-12-20\ncase-001^HOSP,systemic_start,2017-01-20\n",
      "m2.csv");
  CHECK(later.accepted == 2);
  CHECK(f.count("SELECT count(*) FROM patients") == 1);
  CHECK(f.count("SELECT count(DISTINCT patient_id) FROM milestones") == 1);
  CHECK(f.count("SELECT count(*) FROM milestones") == 3);

  // The identifier under a second authority: a bare identifier no longer names one patient.
  CHECK(f.send(test::oru({test::afp_obx("20")}, "C-2", "PID|1||case-001^^^CLINIC^MR||Doe^J"))
            .outcome == "accepted");
  CHECK(f.count("SELECT count(*) FROM patients") == 2);
  auto ambiguous = f.import(
      "patient_id,marker,collected_at,value,unit\ncase-001,AFP,2017-02-01,30,ng/mL\n"
      "case-001,AFP,2017-03-01,40,ng/mL\n");
  CHECK(ambiguous.accepted == 0);
  REQUIRE(ambiguous.rejections.size() == 2);
  CHECK_THAT(ambiguous.rejections[0].reason, Catch::Contains("case-001^AUTHORITY"));
  auto bare = f.send(test::oru({test::afp_obx("50")}, "C-3", "PID|1||case-001||Doe^J"));
  CHECK(bare.outcome == "rejected");
  CHECK(f.msa(bare) == "AE|C-3");
  CHECK_THAT(bare.ack, Catch::Contains("PID-3 does not name one patient") &&
                           Catch::Contains("case-001\\S\\AUTHORITY"));  // ^ escaped
  CHECK(f.count("SELECT count(*) FROM results") == 2);
  CHECK(f.count("SELECT count(*) FROM patients") == 2);
}

TEST_CASE("listings take a patient as id or id^authority") {
  Fixture f;
  f.import("patient_id,kind,date\ncase-001^HOSP,tace,2020-01-01\n", "m.csv");
  int n = 0;
  for (auto [value, time] : std::vector<std::pair<std::string, std::string>>{
           {"20", "20200201"}, {"40", "20200301"}, {"80", "20200401"}, {"90", "20200415"}})
    CHECK(f.send(test::oru({test::afp_obx(value, "ng/mL", "F", "NM", time)},
                           "H-" + std::to_string(++n)))
              .outcome == "accepted");
  CHECK(f.send(test::oru({test::afp_obx("5")}, "C-1", "PID|1||case-001^^^CLINIC^MR||Doe^J"))
            .outcome == "accepted");

  store::ResultStore results(f.db);
  CHECK(results.results("case-001", "", true).size() == 5);  // the identifier: both patients
  CHECK(results.results("case-001^HOSP", "", true).size() == 4);
  CHECK(results.results("case-001^CLINIC", "", true).size() == 1);
  CHECK(results.results("case-001^ELSEWHERE", "", true).empty());
  CHECK(results.milestones("case-001^HOSP").size() == 1);
  CHECK(results.milestones("case-001^CLINIC").empty());
  CHECK(results.patients("case-001").size() == 2);
  REQUIRE(results.patients("case-001^CLINIC").size() == 1);
  CHECK(results.patients("case-001^CLINIC").front().second == PatientKey{"case-001", "CLINIC"});

  store::AlertStore alerts(f.db);
  auto of = [&](const std::string& patient) {
    store::AlertFilter filter;
    filter.patient = patient;
    return alerts.alerts(filter);
  };
  const auto hosp = of("case-001^HOSP");
  REQUIRE_FALSE(hosp.empty());
  CHECK(of("case-001").size() == hosp.size());
  CHECK(of("case-001^CLINIC").empty());
  CHECK(alerts.log("", "case-001^HOSP", 100).size() == alerts.log("", "case-001", 100).size());
  CHECK(alerts.log("", "case-001^CLINIC", 100).empty());
}

TEST_CASE("CSV import keeps valid rows and reports each bad one with its line") {
  Fixture f;
  auto report = f.import(
      "patient_id,marker,collected_at,value,unit\n"
      "p1,AFP,2016-01-01,5,ng/mL\n"
      "p1,AFP,2016-02-01,abc,ng/mL\n"
      "p1,AFP,2016-03-01,7,furlongs\n"
      "p1,AFP,2016-04-01,9,ng/mL\n");
  CHECK(report.accepted == 2);
  CHECK(report.rejected == 2);
  REQUIRE(report.rejections.size() == 2);
  CHECK(report.rejections[0].line == 3);
  CHECK_THAT(report.rejections[0].reason, Catch::Contains("not a number"));
  CHECK(report.rejections[1].line == 4);
  CHECK(f.count("SELECT count(*) FROM messages WHERE outcome = 'partial'") == 1);
  CHECK_THROWS_WITH(f.import("hello\n"), Catch::Contains("not an HL7 file"));
  CHECK_THROWS_WITH(f.import("patient_id,marker,collected_at,value,unit\n\xff\n"),
                    Catch::Contains("not valid UTF-8"));
}

TEST_CASE("a CSV stores a new patient's rows as it stores an existing patient's") {
  // The rows of a patient new to the database are admitted (E3) beside the reading; those of a
  // patient it has are stored one by one against what it holds. With nothing stored yet for the
  // patient, both must give the same report, rows, flags and alerts.
  const std::string csv =
      "patient_id,marker,collected_at,value,unit,status,obs_id,received_at,method\n"
      "p1,AFP,2016-01-01,5,ng/mL,final,o1,,\n"
      "p1,AFP,2016-01-01,5,ng/mL,final,o1,,\n"
      "p1,AFP,2016-01-01,6,ng/mL,corrected,o1,,\n"
      "p1,AFP,2016-02-01,7,ng/mL,final,,,\n"
      "p1,AFP,2016-02-01,8,ng/mL,final,,,\n"
      "p1,AFP,2016-02-01,9,ng/mL,corrected,,,\n"
      "p1,AFP,2016-03-01,abc,ng/mL,final,,,\n"
      "p1,AFP,2016-03-01,10,ng/mL,preliminary,o3,2016-03-02T08:00:00Z,\n"
      "p1,AFP,2016-03-01,11,ng/mL,final,o3,2016-03-02T09:00:00Z,\n"
      "p1,AFP,2016-04-01,,ng/mL,entered-in-error,o4,,\n"
      "p1,AFP,2016-05-01,400,ng/mL,final,,,\n"
      "p1,AFP,2016-06-01,900,ng/mL,final,,,\n"
      "p1,AFP,2016-07-01,2000,ng/mL,final,,,\n"
      "p1,CEA,2016-07-01,<1.0,ng/mL,final,,,\n"
      "p1,AFP,2016-08-01,2100,ng/mL,final,,,lab-B\n";  // another method group: an INFO note
  Fixture created, existing;
  CHECK(store::ResultStore(existing.db).find_or_add_patient({"p1", ""}, "t").created);
  const auto a = created.import(csv, "r.csv");
  const auto b = existing.import(csv, "r.csv");
  CHECK(a.accepted == 12);  // the removal of o4 included: nothing to remove, still stored
  CHECK(a.unchanged == 1);
  CHECK(a.rejected == 2);
  CHECK(a.accepted == b.accepted);
  CHECK(a.unchanged == b.unchanged);
  REQUIRE(a.rejections.size() == b.rejections.size());
  for (std::size_t i = 0; i < a.rejections.size(); ++i) {
    CHECK(a.rejections[i].line == b.rejections[i].line);
    CHECK(a.rejections[i].reason == b.rejections[i].reason);
  }
  CHECK(a.alert_events == b.alert_events);
  const auto rows = [](store::Database& db, const std::string& sql) {
    std::vector<std::string> out;
    auto q = db.prepare(sql);
    while (q.step()) out.push_back(q.text(0));
    return out;
  };
  const std::string results =
      "SELECT quote(id) || '|' || quote(patient_id) || '|' || quote(marker) || '|' || "
      "quote(collected_at) || '|' || quote(value) || '|' || quote(comparator) || '|' || "
      "quote(status) || '|' || quote(obs_id) || '|' || quote(version_time) || '|' || "
      "quote(message_id) || '|' || quote(effective) || '|' || quote(stored_at) FROM results "
      "ORDER BY id";
  CHECK(rows(created.db, results).size() == 12);
  CHECK(rows(created.db, results) == rows(existing.db, results));
  const std::string events =
      "SELECT event || '|' || marker || '|' || detail FROM alert_events ORDER BY id";
  CHECK(a.alert_events == std::map<std::string, int>{{"new", 1}, {"info", 1}});
  CHECK(rows(created.db, events) == rows(existing.db, events));
}

TEST_CASE("an HL7 file with several messages and any line ending") {
  Fixture f;
  std::string file = test::oru({test::afp_obx("5")}, "F1") + test::oru({test::afp_obx("6")}, "F2") +
                     test::oru({test::afp_obx("7", "bad")}, "F3");
  for (auto& c : file)
    if (c == '\r') c = '\n';
  auto report = f.import(file, "batch.hl7");
  CHECK(report.kind == "hl7");
  CHECK(report.accepted == 2);
  CHECK(report.rejected == 1);
  CHECK(report.results_stored == 2);
  REQUIRE(report.rejections.size() == 1);
  CHECK(report.rejections[0].line == 9);
  CHECK_THAT(report.rejections[0].reason, Catch::Contains("AE F3"));
}

TEST_CASE("an HL7 batch file stores its messages and reports an envelope that disagrees") {
  const auto first = test::oru({test::afp_obx("5")}, "B1");
  const auto second = test::oru({test::afp_obx("6")}, "B2");
  const std::string fhs = "FHS|^~\\&|LAB|HOSP\r", bhs = "BHS|^~\\&|LAB|HOSP\r";

  Fixture whole;
  auto report = whole.import(fhs + bhs + first + second + "BTS|2\rFTS|1\r", "whole.hl7");
  CHECK(report.kind == "hl7");
  CHECK(report.accepted == 2);
  CHECK(report.rejected == 0);
  CHECK(report.file_problems == 0);
  CHECK(report.rejections.empty());
  // The envelope is no message's: each raw message is the one sent.
  std::vector<std::string> raw;
  auto q = whole.db.prepare("SELECT raw FROM messages ORDER BY id");
  while (q.step()) raw.push_back(q.text(0));
  CHECK(raw == std::vector<std::string>{first, second});

  // Cut short after the first message: that message is stored, the file is reported incomplete.
  Fixture cut;
  report = cut.import(fhs + bhs + first, "cut.hl7");
  CHECK(report.accepted == 1);
  CHECK(report.rejected == 0);
  CHECK(report.file_problems == 2);
  REQUIRE(report.rejections.size() == 2);
  CHECK(report.rejections[0].line == 1);
  CHECK_THAT(report.rejections[0].reason, Catch::Contains("no trailer (FTS)"));
  CHECK(report.rejections[1].line == 2);
  CHECK_THAT(report.rejections[1].reason, Catch::Contains("no trailer (BTS)"));
  CHECK(cut.count("SELECT count(*) FROM results") == 1);

  // A count that disagrees sits among the messages' own rejections in line order.
  Fixture counted;
  const auto bad = test::oru({test::afp_obx("7", "bad")}, "B3");
  report = counted.import(bhs + bad + first + "BTS|3\r", "counted.hl7");
  CHECK(report.accepted == 1);
  CHECK(report.rejected == 1);
  CHECK(report.file_problems == 1);
  REQUIRE(report.rejections.size() == 2);
  CHECK_THAT(report.rejections[0].reason, Catch::Contains("AE B3"));
  CHECK_THAT(report.rejections[1].reason, Catch::StartsWith("BTS-1 gives 3 message(s)"));
  CHECK(report.rejections[0].line < report.rejections[1].line);

  // An empty batch is a lab saying it had nothing to send; text alone is no HL7 file.
  Fixture empty;
  report = empty.import(fhs + bhs + "BTS|0\rFTS|1\r", "empty.hl7");
  CHECK(report.accepted + report.rejected + report.unchanged == 0);
  CHECK(empty.count("SELECT count(*) FROM messages") == 0);
  CHECK_THROWS_WITH(empty.import("\x0b\x1c\r", "frame.hl7"), Catch::Contains("not an HL7 file"));
}

TEST_CASE("an HL7 file of MLLP frames imports as the messages sent in them") {
  const auto first = test::oru({test::afp_obx("5")}, "M1");
  const auto second = test::oru({test::afp_obx("6")}, "M2");
  Fixture f;
  auto report = f.import("\x0b" + first + "\x1c\r\x0b" + second + "\x1c\r", "capture.hl7");
  CHECK(report.accepted == 2);
  CHECK(report.rejected == 0);
  // The same messages sent over MLLP afterwards are known: the bytes stored are the frames'
  // contents.
  CHECK(f.send(first).outcome == "duplicate");
  CHECK(f.send(second).outcome == "duplicate");
}

TEST_CASE(
    "an HL7 file gives the alerts of its messages one by one and evaluates each patient once") {
  // The seed case's AFP values as ORU^R01 messages, after its milestones.
  const auto milestones = test::read_file(test::shared_dir() / "seed/milestones.csv");
  const auto lines = test::read_file(test::shared_dir() / "seed/results.csv");
  std::vector<std::string> messages;
  for (std::size_t at = lines.find('\n') + 1; at < lines.size();) {
    const auto end = std::min(lines.find('\n', at), lines.size());
    const auto row = lines.substr(at, end - at);
    at = end + 1;
    if (row.find(",AFP,") == std::string::npos) continue;
    const auto date = row.substr(row.find(",AFP,") + 5, 10);
    const auto value = row.substr(row.find(",AFP,") + 16, row.rfind(',') - row.find(",AFP,") - 16);
    const auto time = date.substr(0, 4) + date.substr(5, 2) + date.substr(8, 2) + "083000";
    messages.push_back(
        test::oru({test::afp_obx(value, "ng/mL", "F",
                                 value[0] == '<' || value[0] == '>' ? "ST" : "NM", time)},
                  "S" + std::to_string(messages.size())));
  }
  REQUIRE(messages.size() > 10);
  auto alerts_of = [](test::PipelineFixture& f) {
    std::vector<std::string> out;
    auto q = f.db.prepare(
        "SELECT marker || ' ' || class || ' ' || state || ' ' || rules || ' ' || event_date || ' ' "
        "|| fire_date || ' ' || severity || ' ' || evidence FROM alerts ORDER BY marker, class, "
        "event_date");
    while (q.step()) out.push_back(q.text(0));
    return out;
  };
  auto events_of = [](test::PipelineFixture& f) {
    std::map<std::string, int> out;
    auto q = f.db.prepare("SELECT event, count(*) FROM alert_events GROUP BY event");
    while (q.step()) out[q.text(0)] = static_cast<int>(q.int64(1));
    return out;
  };

  Fixture one_by_one;
  one_by_one.import(milestones, "milestones.csv");
  for (const auto& m : messages) REQUIRE(one_by_one.send(m).outcome == "accepted");
  const auto live_events = events_of(one_by_one);
  REQUIRE(live_events.at("new") == 3);
  REQUIRE(live_events.count("update") == 1);  // the trail a file import does not log

  Fixture as_file;
  as_file.import(milestones, "milestones.csv");
  std::string file;
  for (const auto& m : messages) file += m + "\n";
  const auto report = as_file.import(file, "afp.hl7");
  CHECK(report.accepted == static_cast<int>(messages.size()));
  CHECK(alerts_of(as_file) == alerts_of(one_by_one));
  const auto file_events = events_of(as_file);
  CHECK(file_events.at("new") == 3);
  CHECK(file_events.count("update") == 0);
  CHECK(report.alert_events == file_events);
  CHECK(as_file.count("SELECT count(*) FROM alert_events WHERE cause <> 'file:afp.hl7' AND cause "
                      "<> 'file:milestones.csv'") == 0);
}

TEST_CASE("a large file is committed in chunks of whole patients when the caller asks for it") {
  Fixture f;
  std::string csv = "patient_id,marker,collected_at,value,unit\n";
  const int patients = 20, per_patient = ingest::Pipeline::kCommitEvery / 8;
  const int rows = patients * per_patient;
  for (int i = 0; i < rows; ++i)  // visit by visit: every patient's rows spread over the file
    csv += "p" + std::to_string(i % patients) + ",AFP," +
           format_utc((i / patients) * 86400LL).substr(0, 10) + "," + std::to_string(i % 9 + 1) +
           ",ng/mL\n";
  int commits = 0;
  std::vector<std::int64_t> stored_per_patient_at_commits;
  f.db.exec("BEGIN IMMEDIATE");
  auto report = f.pipeline->ingest_file(csv, "big.csv", [&] {
    auto q = f.db.prepare("SELECT count(*) FROM results GROUP BY patient_id");
    while (q.step()) stored_per_patient_at_commits.push_back(q.int64(0));
    f.db.exec("COMMIT");
    ++commits;
    f.db.exec("BEGIN IMMEDIATE");
  });
  f.db.exec("COMMIT");
  // 8 patients reach kCommitEvery rows: commits before the 9th and the 17th patient.
  CHECK(commits == 2);
  CHECK(stored_per_patient_at_commits.size() == 8 + 16);
  for (const auto n : stored_per_patient_at_commits) CHECK(n == per_patient);  // never split
  CHECK(report.accepted == rows);
  CHECK(f.count("SELECT count(*) FROM results WHERE effective = 1") == rows);
  CHECK(f.count("SELECT count(*) FROM messages WHERE outcome = 'accepted'") == 1);
}

TEST_CASE("a patient's live alerts, read for an evaluation, are its markers' and current") {
  Fixture f;
  auto report = f.import(
      "patient_id,marker,collected_at,value,unit\n"
      "p1,AFP,2016-01-01,10,ng/mL\n"
      "p1,AFP,2016-02-01,20,ng/mL\n"
      "p1,AFP,2016-03-01,25,ng/mL\n"
      "p1,CEA,2016-01-01,2,ng/mL\n"
      "p1,CEA,2016-02-01,6,ng/mL\n"
      "p1,CEA,2016-03-01,7,ng/mL\n");
  REQUIRE(report.rejected == 0);
  const auto patient = f.count("SELECT id FROM patients WHERE identifier = 'p1'");
  store::AlertStore alerts(f.db);
  auto markers_of = [](const std::vector<engine::TrackedAlert>& live) {
    std::vector<std::string> out;
    for (const auto& t : live) out.push_back(t.alert.identity.marker);
    return out;
  };
  const auto every = alerts.live(patient, {});
  CHECK(markers_of(every) == std::vector<std::string>{"AFP", "CEA"});
  const auto cea = alerts.live(patient, {"CEA"});
  REQUIRE(markers_of(cea) == std::vector<std::string>{"CEA"});
  CHECK(cea.front().id == every.back().id);
  CHECK(cea.front().alert == every.back().alert);  // the whole stored state, read back
  // 2 was normal (ULN 5), so R_RENORM (k = 1 for CEA) fires with R_RISE.
  CHECK(cea.front().alert.rules ==
        std::vector<engine::Rule>{engine::Rule::rise, engine::Rule::renorm});
  CHECK(markers_of(alerts.live(patient, {"AFP", "PSA"})) == std::vector<std::string>{"AFP"});
  CHECK(alerts.live(patient, {"PSA"}).empty());

  // A late, lower CEA value moves the nadir: the alert is updated, and the store that read it
  // before (and keeps what it parsed) reads the new state, as a store reading it afresh does.
  REQUIRE(f.import("patient_id,marker,collected_at,value,unit\n"
                   "p1,CEA,2016-01-15,1,ng/mL\n")
              .accepted == 1);
  const auto updated = alerts.live(patient, {"CEA"});
  REQUIRE(updated.size() == 1);
  REQUIRE(updated.front().alert.nadir);
  CHECK(updated.front().alert.nadir->value == 1);
  CHECK_FALSE(updated.front().alert == cea.front().alert);
  CHECK(updated.front().alert == store::AlertStore(f.db).live(patient, {"CEA"}).front().alert);
  CHECK(alerts.live(patient, {"AFP"}).front().alert == every.front().alert);  // unchanged
}

TEST_CASE(
    "the writer's series cache changes no alert: the seed case row by row, with and without") {
  // Rows one at a time, a few per transaction, as markerwatchd's writer stores messages, in random
  // orders, with corrections and a removal among them; the alert log and the alerts must be the
  // same with the cache (at its default size and at a size it keeps outgrowing) as without.
  auto lines = test::read_file(test::shared_dir() / "seed/results.csv");
  std::vector<std::string> rows;
  for (std::size_t at = lines.find('\n') + 1; at < lines.size();) {
    const auto end = lines.find('\n', at);
    if (end > at) rows.push_back(lines.substr(at, end - at) + ",final,,");
    at = end == std::string::npos ? lines.size() : end + 1;
  }
  rows.push_back("case-001,AFP,2016-12-15,4000,ng/mL,corrected,,");
  rows.push_back("case-001,AFP,2013-10-02,,ng/mL,entered_in_error,,");
  rows.push_back("case-001,AFP,2015-09-09,1,ng/mL,preliminary,,");
  const auto milestones = test::read_file(test::shared_dir() / "seed/milestones.csv");
  auto run = [&](const std::vector<std::string>& order, const std::string& toml) {
    test::PipelineFixture f(toml);
    f.import(milestones, "milestones.csv");
    for (std::size_t i = 0; i < order.size(); i += 3) {
      store::Transaction txn(f.db);
      for (std::size_t k = i; k < std::min(order.size(), i + 3); ++k)
        f.pipeline->ingest_file(
            "patient_id,marker,collected_at,value,unit,status,obs_id,received_at\n" + order[k] +
                "\n",
            "row.csv");
      txn.commit();
    }
    std::vector<std::string> log;
    for (const auto* sql :
         {"SELECT event || ' ' || marker || ' ' || detail FROM alert_events ORDER BY id",
          "SELECT state || ' ' || rules || ' ' || event_date || ' ' || fire_date || ' ' || "
          "evidence "
          "FROM alerts ORDER BY id"}) {
      auto q = f.db.prepare(sql);
      while (q.step()) log.push_back(q.text(0));
    }
    return log;
  };
  std::mt19937 random(20160915);
  for (int order = 0; order < 4; ++order) {
    INFO("order " << order);
    const auto without = run(rows, "[storage]\nseries_cache_values = 0\n");
    CHECK(without.size() > 3);
    CHECK(run(rows, "") == without);
    CHECK(run(rows, "[storage]\nseries_cache_values = 131072\n") == without);
    CHECK(run(rows, "[storage]\nseries_cache_values = 8\n") == without);
    std::shuffle(rows.begin(), rows.end(), random);
  }
}
