// markerwatch senders: each sender's messages in the window, counted by outcome.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>

#include "store/migrations.hpp"
#include "store/result_store.hpp"
#include "store/sender_activity.hpp"

using namespace markerwatch;
using namespace markerwatch::store;

namespace {

void add_message(ResultStore& store, const std::string& transport, const std::string& sender,
                 const std::string& received_at, const std::string& outcome,
                 const std::string& error = "", int results = 0) {
  static int control = 0;
  MessageEntry entry{transport, "10.0.0.7:4000", sender, "C" + std::to_string(++control),
                     "sha",     received_at,     "MSH|"};
  MessageOutcome o;
  o.outcome = outcome;
  o.ack_code = outcome == "rejected" ? "AE" : "AA";
  o.error = error;
  o.results_stored = results;
  store.insert_message(entry, o);
}

}  // namespace

TEST_CASE("senders: the window's messages of each sender, latest sender first") {
  Database db(":memory:", OpenOptions{});
  migrate(db);
  ResultStore store(db);
  add_message(store, "mllp", "LAB|HOSP", "2026-11-20T08:00:00Z", "rejected", "too old");
  add_message(store, "mllp", "LAB|HOSP", "2026-12-01T00:00:00Z", "accepted", "", 2);
  add_message(store, "mllp", "LAB|HOSP", "2026-12-02T08:00:00Z", "rejected", "PID-3: no id");
  add_message(store, "http", "fhir:lis", "2026-12-03T09:00:00.250Z", "partial", "entry 1", 1);
  add_message(store, "mllp", "LAB|HOSP", "2026-12-03T10:00:00Z", "duplicate");
  add_message(store, "mllp", "LAB|HOSP", "2026-12-03T11:00:00Z", "ignored");
  add_message(store, "mllp", "OTHER|LAB", "2026-11-25T08:00:00Z", "accepted", "", 1);

  const auto rows = sender_activity(db, "2026-12-01");
  REQUIRE(rows.size() == 2);  // OTHER|LAB sent nothing since
  const auto& lab = rows[0];
  CHECK(lab.transport == "mllp");
  CHECK(lab.sender == "LAB|HOSP");
  CHECK(lab.first_received_at == "2026-12-01T00:00:00Z");  // a message at the day's start is in
  CHECK(lab.last_received_at == "2026-12-03T11:00:00Z");
  CHECK(lab.messages == 4);
  CHECK(lab.accepted == 1);
  CHECK(lab.rejected == 1);
  CHECK(lab.duplicate == 1);
  CHECK(lab.ignored == 1);
  CHECK(lab.partial == 0);
  CHECK(lab.results_stored == 2);
  CHECK(lab.last_error == "PID-3: no id");  // not the one before the window
  const auto& fhir = rows[1];
  CHECK(fhir.sender == "fhir:lis");
  CHECK(fhir.partial == 1);
  CHECK(fhir.last_error == "entry 1");

  CHECK(sender_activity(db, "2026-12-03T10:30:00Z").size() == 1);
  CHECK(sender_activity(db, "2026-12-04").empty());
  CHECK(sender_activity(db, "2026-01-01").size() == 3);  // every message: OTHER|LAB too
}

TEST_CASE("senders: the window is found by arrival order in a long log") {
  Database db(":memory:", OpenOptions{});
  migrate(db);
  ResultStore store(db);
  {
    Transaction t(db);
    for (int day = 1; day <= 30; ++day)
      for (int i = 0; i < 1000; ++i) {
        char at[32];
        std::snprintf(at, sizeof at, "2026-11-%02dT%02d:%02d:00Z", day, i / 60 % 24, i % 60);
        add_message(store, "mllp", i % 2 ? "A|1" : "B|2", at, "accepted", "", 1);
      }
    t.commit();
  }
  // A message that arrived before the window but was stored later (an import beside the daemon)
  // is not counted; one stored out of order within the window is.
  add_message(store, "file", "late.hl7", "2026-11-02T00:00:00Z", "accepted");
  const auto rows = sender_activity(db, "2026-11-29");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].messages + rows[1].messages == 2000);
  CHECK(std::min(rows[0].first_received_at, rows[1].first_received_at) == "2026-11-29T00:00:00Z");
  CHECK(sender_activity(db, "2026-11-01").at(0).messages == 15000);
}

TEST_CASE("senders: the latest message of each daemon transport and sender as a Unix time") {
  Database db(":memory:", OpenOptions{});
  migrate(db);
  ResultStore store(db);
  CHECK(latest_messages(db).by_transport.empty());
  CHECK(latest_messages(db).by_sender.empty());
  add_message(store, "mllp", "LAB|HOSP", "2026-12-01T00:00:00Z", "accepted");
  add_message(store, "mllp", "OTHER|LAB", "2026-12-01T00:00:10Z", "rejected");
  add_message(store, "mllp", "LAB|HOSP", "2026-11-30T00:00:00Z", "accepted");  // stored late
  add_message(store, "http", "fhir:lis", "2026-12-02T00:00:00.250Z", "accepted");
  add_message(store, "http", "fhir-upstream", "2026-12-02T00:01:00Z", "accepted");
  add_message(store, "http", "api:ward", "2026-12-03T00:00:00Z", "accepted");
  add_message(store, "file", "results.csv", "2026-12-04T00:00:00Z", "accepted");  // not a feed
  const auto latest = latest_messages(db);
  CHECK(latest.by_transport == std::map<std::string, std::int64_t>{{"mllp", 1796083210},
                                                                   {"fhir", 1796169660},
                                                                   {"api", 1796256000}});
  std::vector<std::string> senders;
  for (const auto& s : latest.by_sender)
    senders.push_back(s.transport + " " + s.sender + " " + std::to_string(s.at));
  CHECK(senders == std::vector<std::string>{"api api:ward 1796256000",
                                            "fhir fhir-upstream 1796169660",
                                            "fhir fhir:lis 1796169600", "mllp OTHER|LAB 1796083210",
                                            "mllp LAB|HOSP 1796083200"});
  // Bounded: only the last `recent` messages are read.
  const auto last_two = latest_messages(db, 2);
  CHECK(last_two.by_transport == std::map<std::string, std::int64_t>{{"api", 1796256000}});
  REQUIRE(last_two.by_sender.size() == 1);
  CHECK(last_two.by_sender[0].sender == "api:ward");
}
