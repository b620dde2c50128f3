// FHIR R4 ingest: every sample in ../shared/samples/fhir with its exact outcome, the mapping
// rules of INTEROP.md §3 on AFP variants of them, Bundles (transaction all or nothing, batch per
// entry, collection), corrections, milestones, and bad input that changes nothing.
#include <catch2/catch.hpp>

#include "fhir_fixture.hpp"

using namespace markerwatch;
using test::Json;

using test::afp_observation;
using test::bundle;
using test::diagnostics;
using test::entry;
using test::FhirFixture;
using test::sample;

TEST_CASE("fhir samples: Observation-f001 (glucose) is answered, counted as ignored, not stored",
          "[fhir][samples]") {
  FhirFixture f;
  const auto out = f.post(
      test::read_file(test::shared_dir() / "samples/fhir/Observation-f001.json"), "Observation");
  CHECK(out.reply.status == 200);
  CHECK(out.reply.body["resourceType"] == "OperationOutcome");
  CHECK_THAT(diagnostics(out.reply.body), Catch::Contains("stored 0, ignored 1") &&
                                              Catch::Contains("http://loinc.org|15074-8 maps to no "
                                                              "configured marker"));
  CHECK(out.outcome == "ignored");
  CHECK(f.count("SELECT count(*) FROM results") == 0);
  CHECK(f.count("SELECT observations_ignored FROM messages") == 1);
}

TEST_CASE("fhir samples: Observation-f205 (eGFR in components, no effective[x]) is ignored",
          "[fhir][samples]") {
  FhirFixture f;
  const auto out = f.post(sample("Observation-f205.json"));
  CHECK(out.reply.status == 200);
  CHECK_THAT(diagnostics(out.reply.body), Catch::Contains("ignored 1"));
  CHECK(out.outcome == "ignored");
  CHECK(f.count("SELECT count(*) FROM results") == 0);
}

TEST_CASE("fhir samples: the cancelled blood pressure is ignored", "[fhir][samples]") {
  FhirFixture f;
  const auto out = f.post(sample("Observation-blood-pressure-cancel.json"), "Observation");
  CHECK(out.reply.status == 200);
  CHECK(out.outcome == "ignored");
  CHECK(f.count("SELECT count(*) FROM results") == 0);
}

TEST_CASE("fhir samples: Bundle-lipids (collection) answers each entry, stores no lipid",
          "[fhir][samples]") {
  FhirFixture f;
  const auto out = f.post(sample("Bundle-lipids.json"));
  REQUIRE(out.reply.status == 200);
  const auto& body = out.reply.body;
  CHECK(body["type"] == "batch-response");
  REQUIRE(body["entry"].size() == 5);
  for (const auto& e : body["entry"]) CHECK(e["response"]["status"] == "200 OK");
  CHECK_THAT(diagnostics(body["entry"][0]["response"]["outcome"]),
             Catch::Contains("DiagnosticReport is not stored"));
  CHECK_THAT(diagnostics(body["entry"][1]["response"]["outcome"]),
             Catch::Contains("http://loinc.org|35200-5 maps to no configured marker"));
  CHECK(out.outcome == "ignored");
  CHECK(f.count("SELECT count(*) FROM results") == 0);
}

TEST_CASE("fhir samples: Bundle-micro (27 entries, comparators without units) stores nothing",
          "[fhir][samples]") {
  FhirFixture f;
  const auto out = f.post(sample("Bundle-micro.json"));
  REQUIRE(out.reply.status == 200);
  REQUIRE(out.reply.body["entry"].size() == 27);
  for (const auto& e : out.reply.body["entry"]) CHECK(e["response"]["status"] == "200 OK");
  CHECK(f.count("SELECT count(*) FROM results") == 0);
}

TEST_CASE("fhir samples: Bundle-bundle-transaction is refused entry by entry, nothing stored",
          "[fhir][samples]") {
  FhirFixture f;
  const auto out = f.post(sample("Bundle-bundle-transaction.json"));
  CHECK(out.reply.status == 400);
  const auto& issues = out.reply.body["issue"];
  // Entries 0-3 (Patient POST/PUT, conditional create and update) are acceptable; 4-9 are not.
  std::vector<std::string> expressions;
  for (const auto& i : issues)
    if (i["severity"] == "error") expressions.push_back(i["expression"][0]);
  CHECK(expressions == std::vector<std::string>{
                           "Bundle.entry[4].request.ifMatch", "Bundle.entry[5].request.method",
                           "Bundle.entry[6].request.method", "Bundle.entry[7].request.url",
                           "Bundle.entry[8].request.method", "Bundle.entry[9].request.method"});
  CHECK(issues[1]["code"] == "not-supported");
  CHECK_THAT(diagnostics(out.reply.body),
             Catch::Contains("DELETE is not supported") &&
                 Catch::Contains("transaction refused: nothing of it was stored"));
  CHECK(out.outcome == "rejected");
  CHECK(f.count("SELECT count(*) FROM messages WHERE transport = 'http'") == 1);
}

TEST_CASE("fhir: an AFP Observation maps time, value, unit, range, identity and version",
          "[fhir]") {
  FhirFixture f;
  const auto out = f.post(afp_observation("afp-1", 6.30), "Observation");
  REQUIRE(out.reply.status == 201);
  CHECK(out.outcome == "accepted");
  auto q = f.db.prepare(
      "SELECT r.collected_at, r.collected_date, r.value, r.value_raw, r.unit, r.unit_raw, r.uln, "
      "r.obs_id, r.version_time, r.source, p.identifier, p.authority, r.status FROM results r "
      "JOIN patients p ON p.id = r.patient_id");
  REQUIRE(q.step());
  CHECK(q.text(0) == "2013-04-02T08:30:10Z");  // effectivePeriod.start, +01:00
  CHECK(q.text(1) == "2013-04-02");
  CHECK(q.real(2) == Approx(6.3));
  CHECK(q.text(3) == "6.3");
  CHECK(q.text(4) == "ng/mL");
  CHECK(q.text(5) == "ng/mL");  // the UCUM code, not the display "ng/ml"
  CHECK(q.real(6) == Approx(8.0));
  CHECK(q.text(7) == "Observation/afp-1");
  CHECK(q.text(8) == "2013-04-03T14:30:10Z");  // issued: the version time
  CHECK(q.text(9) == "fhir");
  CHECK(q.text(10) == "P-1");
  CHECK(q.text(11) == "urn:mrn");
  CHECK(q.text(12) == "final");
}

TEST_CASE("fhir: decimals keep their precision as written", "[fhir]") {
  FhirFixture f;
  auto body = afp_observation("p-1", 1).dump();
  const auto at = body.find("\"value\":1");
  REQUIRE(at != std::string::npos);
  body.replace(at, 9, "\"value\":6.30");
  REQUIRE(f.post(body).reply.status == 201);
  auto q = f.db.prepare("SELECT value_raw, value FROM results");
  REQUIRE(q.step());
  CHECK(q.text(0) == "6.30");  // not 6.3: the lab reported two decimals
  CHECK(q.real(1) == Approx(6.3));
  struct Bad {
    std::string number;
    unsigned status;
    std::string expect;
  };
  for (const auto& [number, status, expect] :
       std::vector<Bad>{{"1e400", 400, "number overflow"}, {"-0.5", 422, "is negative"}}) {
    auto bad = afp_observation("p-2", 1).dump();
    bad.replace(bad.find("\"value\":1"), 9, "\"value\":" + number);
    const auto out = f.post(bad);
    CHECK(out.reply.status == status);
    CHECK_THAT(diagnostics(out.reply.body), Catch::Contains(expect));
  }
  // A decimal where text belongs is not text.
  auto wrong = afp_observation("p-3", 1);
  wrong["status"] = 1.5;
  CHECK_THAT(diagnostics(f.post(wrong).reply.body),
             Catch::Contains("Observation.status: must be a string"));
}

TEST_CASE("fhir: units, comparators and time fallbacks", "[fhir]") {
  FhirFixture f("[fhir]\nauthorities = { \"urn:mrn\" = \"HOSP\" }\n");
  SECTION("IU/mL converts with the marker's factor; a comparator is kept") {
    auto o = afp_observation("a", 20);
    o["valueQuantity"] = {{"value", 20},
                          {"comparator", ">"},
                          {"system", "http://unitsofmeasure.org"},
                          {"code", "[IU]/mL"}};
    REQUIRE(f.post(o).reply.status == 201);
    auto q = f.db.prepare("SELECT value, comparator, value_raw FROM results");
    REQUIRE(q.step());
    CHECK(q.real(0) == Approx(20 * 1.21));
    CHECK(q.text(1) == ">");
    CHECK(q.text(2) == ">20");
    CHECK(f.count("SELECT count(*) FROM patients WHERE authority = 'HOSP'") == 1);
  }
  SECTION("a unit that cannot be converted is refused, never taken 1:1") {
    auto o = afp_observation("a", 20);
    o["valueQuantity"]["code"] = "mmol/L";
    const auto out = f.post(o);
    CHECK(out.reply.status == 422);
    CHECK(out.reply.body["issue"][0]["expression"][0] == "Observation.valueQuantity");
    CHECK_THAT(diagnostics(out.reply.body), Catch::Contains("cannot be converted to ng/mL"));
    CHECK(f.count("SELECT count(*) FROM results") == 0);
    CHECK(out.outcome == "rejected");
  }
  SECTION("no effective[x]: issued, flagged") {
    auto o = afp_observation("a", 20);
    o.erase("effectivePeriod");
    const auto out = f.post(o);
    CHECK(out.reply.status == 201);
    CHECK_THAT(diagnostics(out.reply.body), Catch::Contains("collection time taken from issued"));
  }
  SECTION("a date without time precision to the day is refused") {
    auto o = afp_observation("a", 20);
    o.erase("effectivePeriod");
    o.erase("issued");
    o["effectiveDateTime"] = "2013-04";
    const auto out = f.post(o);
    CHECK(out.reply.status == 422);
    CHECK_THAT(diagnostics(out.reply.body), Catch::Contains("not a dateTime precise to the day"));
  }
  SECTION("a numeric valueString such as <1.0") {
    auto o = afp_observation("a", 20);
    o.erase("valueQuantity");
    o["valueString"] = "<1.0";
    o["code"]["coding"][0]["code"] = "19176-7";
    REQUIRE(f.post(o).reply.status == 422);  // no unit anywhere
    CHECK(f.count("SELECT count(*) FROM results") == 0);
  }
}

TEST_CASE("fhir: the subject's forms", "[fhir]") {
  SECTION("a bare Patient/<id> reference is refused unless a reference system is configured") {
    FhirFixture f;
    auto o = afp_observation("a", 5);
    o["subject"] = {{"reference", "Patient/f001"}};
    auto out = f.post(o);
    CHECK(out.reply.status == 422);
    CHECK(out.reply.body["issue"][0]["expression"][0] == "Observation.subject.reference");
    FhirFixture g("[fhir]\nreference_identifier_system = \"urn:mrn\"\n");
    CHECK(g.post(o).reply.status == 201);
    CHECK(g.count("SELECT count(*) FROM patients WHERE identifier = 'f001' AND authority = "
                  "'urn:mrn'") == 1);
  }
  SECTION("a urn:uuid reference to a Patient in the same transaction") {
    FhirFixture f("[fhir]\npatient_identifier_system = \"urn:mrn\"\n");
    Json patient = {
        {"resourceType", "Patient"},
        {"identifier",
         {{{"system", "urn:other"}, {"value", "X"}}, {{"system", "urn:mrn"}, {"value", "P-9"}}}}};
    auto o = afp_observation("a", 5);
    o["subject"] = {{"reference", "urn:uuid:5f1c"}};
    auto b = bundle("transaction", {entry(patient), entry(o)});
    b["entry"][0]["fullUrl"] = "urn:uuid:5f1c";
    const auto out = f.post(b);
    REQUIRE(out.reply.status == 200);
    CHECK(out.reply.body["type"] == "transaction-response");
    CHECK(out.reply.body["entry"][1]["response"]["status"] == "201 Created");
    CHECK(f.count("SELECT count(*) FROM patients WHERE identifier = 'P-9'") == 1);
  }
  SECTION("a Patient without the configured identifier system") {
    FhirFixture f("[fhir]\npatient_identifier_system = \"urn:mrn\"\n");
    Json patient = {{"resourceType", "Patient"},
                    {"identifier", {{{"system", "urn:x"}, {"value", "1"}}}}};
    auto o = afp_observation("a", 5);
    o["subject"] = {{"reference", "urn:uuid:1"}};
    auto b = bundle("batch", {entry(patient), entry(o)});
    b["entry"][0]["fullUrl"] = "urn:uuid:1";
    const auto out = f.post(b);
    CHECK(out.reply.body["entry"][1]["response"]["status"] == "422 Unprocessable Entity");
    CHECK_THAT(diagnostics(out.reply.body["entry"][1]["response"]["outcome"]),
               Catch::Contains("no identifier of system urn:mrn"));
  }
}

TEST_CASE("fhir: DiagnosticReport times are inherited inside a Bundle (Bundle-lipids shape)",
          "[fhir]") {
  FhirFixture f;
  auto b = sample("Bundle-lipids.json");
  auto& obs = b["entry"][1]["resource"];
  obs["code"] = {{"coding", {{{"system", "http://loinc.org"}, {"code", "1834-1"}}}}};
  obs["valueQuantity"] = {
      {"value", 12}, {"system", "http://unitsofmeasure.org"}, {"code", "ng/mL"}};
  obs["subject"] = {{"identifier", {{"value", "L-1"}}}};
  const auto out = f.post(b);
  REQUIRE(out.reply.body["entry"][1]["response"]["status"] == "201 Created");
  auto q = f.db.prepare("SELECT collected_at, obs_id FROM results");
  REQUIRE(q.step());
  CHECK(q.text(0) == "2011-03-03T21:30:00Z");  // the report's 2011-03-04T08:30:00+11:00
  CHECK(q.text(1) == "Observation/cholesterol");
}

TEST_CASE("fhir: transaction is all or nothing, batch is per entry", "[fhir]") {
  auto good = afp_observation("good", 5);
  auto bad = afp_observation("bad", 5);
  bad["valueQuantity"]["value"] = "5";  // a string, not a number
  SECTION("transaction") {
    FhirFixture f;
    const auto before = f.state();
    const auto out = f.post(bundle("transaction", {entry(good), entry(bad)}));
    CHECK(out.reply.status == 400);
    CHECK(out.reply.body["issue"][0]["expression"][0] ==
          "Bundle.entry[1].resource.valueQuantity.value");
    CHECK(f.state() == before);
    CHECK(f.last_outcome() == "rejected");
  }
  SECTION("batch") {
    FhirFixture f;
    const auto out = f.post(bundle("batch", {entry(good), entry(bad)}));
    REQUIRE(out.reply.status == 200);
    CHECK(out.reply.body["entry"][0]["response"]["status"] == "201 Created");
    CHECK(out.reply.body["entry"][1]["response"]["status"] == "422 Unprocessable Entity");
    CHECK(f.count("SELECT count(*) FROM results") == 1);
    CHECK(f.last_outcome() == "partial");
  }
  SECTION("a transaction entry the store refuses undoes the entries before it") {
    FhirFixture f;
    auto first = afp_observation("x", 5);
    first.erase("id");
    first.erase("identifier");
    auto correction = first;
    correction["status"] = "corrected";
    // Two results on one day without identity, then a correction: ambiguous.
    auto second = first;
    second["valueQuantity"]["value"] = 6;
    f.post(bundle("batch", {entry(first), entry(second)}));
    const auto before = f.state();
    const auto out = f.post(
        bundle("transaction", {entry(afp_observation("y", 7, "2013-05-01")), entry(correction)}));
    CHECK(out.reply.status == 400);
    CHECK_THAT(diagnostics(out.reply.body), Catch::Contains("Bundle.entry[1]"));
    CHECK(f.state() == before);
  }
}

TEST_CASE("fhir: subscription notifications (R4B backport history Bundles)", "[fhir]") {
  FhirFixture f;
  const Json status = {
      {"fullUrl", "urn:uuid:9e41ff6d-5be6-4e6a-8b85-abd4e7f58400"},
      {"resource",
       {{"resourceType", "Parameters"},
        {"parameter", Json::array({{{"name", "subscription"},
                                    {"valueReference",
                                     {{"reference", "https://fhir.example.org/Subscription/1"}}}},
                                   {{"name", "type"}, {"valueCode", "handshake"}}})}}},
      {"request", {{"method", "GET"}, {"url", "https://fhir.example.org/Subscription/1/$status"}}}};
  SECTION("a handshake or heartbeat carries only its status: answered 200, nothing stored") {
    const auto out = f.post(bundle("history", {status}));
    CHECK(out.reply.status == 200);
    CHECK(out.reply.body["entry"][0]["response"]["status"] == "200 OK");
    CHECK(f.count("SELECT count(*) FROM results") == 0);
  }
  SECTION("a full-resource notification stores its Observation") {
    auto observation = entry(afp_observation("n1", 8));
    observation["request"] = {{"method", "POST"}, {"url", "Observation"}};
    const auto out = f.post(bundle("history", {status, observation}));
    CHECK(out.reply.status == 200);
    CHECK(out.reply.body["entry"][1]["response"]["status"] == "201 Created");
    CHECK(f.count("SELECT count(*) FROM results") == 1);
  }
  SECTION("an id-only notification says what the Subscription must send instead") {
    const Json id_only = {{"fullUrl", "https://fhir.example.org/Observation/77"},
                          {"request", {{"method", "POST"}, {"url", "Observation"}}}};
    const auto out = f.post(bundle("history", {status, id_only}));
    CHECK(out.reply.status == 200);
    const auto& refused = out.reply.body["entry"][1]["response"];
    CHECK(refused["status"] == "422 Unprocessable Entity");
    CHECK_THAT(diagnostics(refused["outcome"]),
               Catch::Contains("Bundle.entry[1].resource: is required") &&
                   Catch::Contains("set the Subscription's content to full-resource"));
    CHECK(f.count("SELECT count(*) FROM results") == 0);
    CHECK(f.last_outcome() == "partial");  // the status entry is fine
  }
  SECTION("with [fhir.upstream] an id-only notification is left to the search there") {
    const Json id_only = {{"fullUrl", "https://fhir.example.org/Observation/77"},
                          {"request", {{"method", "POST"}, {"url", "Observation"}}}};
    const Json broken = {{"fullUrl", "urn:uuid:1"}, {"resource", {{"id", "no-type"}}}};
    std::size_t deferred = 0;
    const auto out = f.post_with_upstream(bundle("history", {status, id_only, broken}), deferred);
    CHECK(deferred == 1);
    CHECK(out.reply.status == 200);
    const auto& left = out.reply.body["entry"][1]["response"];
    CHECK(left["status"] == "202 Accepted");
    CHECK_THAT(diagnostics(left["outcome"]), Catch::Contains("search on the upstream server"));
    // Only a missing resource is deferred: a broken one is still refused.
    CHECK(out.reply.body["entry"][2]["response"]["status"] == "422 Unprocessable Entity");
    CHECK(f.count("SELECT count(*) FROM results") == 0);
    CHECK(f.last_outcome() == "partial");
  }
  SECTION("only a notification's entries are deferred: a batch entry without resource is not") {
    const Json bare = {{"fullUrl", "https://fhir.example.org/Observation/78"},
                       {"request", {{"method", "POST"}, {"url", "Observation"}}}};
    std::size_t deferred = 0;
    const auto out = f.post_with_upstream(bundle("batch", {bare}), deferred);
    CHECK(deferred == 0);
    CHECK(out.reply.body["entry"][0]["response"]["status"] == "422 Unprocessable Entity");
    CHECK(f.last_outcome() == "rejected");
  }
}

TEST_CASE("fhir: corrections, removals and re-posting", "[fhir]") {
  FhirFixture f;
  REQUIRE(f.post(afp_observation("o1", 10)).reply.status == 201);
  auto corrected = afp_observation("o1", 12);
  corrected["status"] = "corrected";
  corrected["issued"] = "2013-04-05T10:00:00Z";
  REQUIRE(f.post(corrected).reply.status == 201);
  CHECK(f.state() == "2/0/0/12");
  SECTION("re-posting the same resource changes nothing") {
    const auto out = f.post(corrected);
    CHECK(out.reply.status == 200);
    CHECK_THAT(diagnostics(out.reply.body), Catch::Contains("unchanged 1"));
    CHECK(out.outcome == "duplicate");
    CHECK(f.state() == "2/0/0/12");
  }
  SECTION("entered-in-error removes the value") {
    auto removed = afp_observation("o1", 12);
    removed["status"] = "entered-in-error";
    removed.erase("valueQuantity");
    removed["issued"] = "2013-04-06T10:00:00Z";
    REQUIRE(f.post(removed).reply.status == 201);
    CHECK(f.count("SELECT count(*) FROM results WHERE effective = 1 AND value IS NOT NULL") == 0);
  }
  SECTION("registered: nothing stored yet") {
    auto pending = afp_observation("o2", 1);
    pending["status"] = "registered";
    const auto out = f.post(pending);
    CHECK(out.reply.status == 200);
    CHECK_THAT(diagnostics(out.reply.body), Catch::Contains("status registered"));
    CHECK(f.state() == "2/0/0/12");
  }
}

TEST_CASE("fhir: Procedures and medications become milestones", "[fhir]") {
  FhirFixture f(test::kMilestoneCodes);
  auto procedure = test::resection_procedure();
  REQUIRE(f.post(procedure).reply.status == 201);
  auto q = f.db.prepare("SELECT kind, date, note, source FROM milestones");
  REQUIRE(q.step());
  CHECK(q.text(0) == "resection");
  CHECK(q.text(1) == "2016-03-10");
  CHECK(q.text(2) == "hepatectomy");
  CHECK(q.text(3) == "fhir");

  const auto medication = test::systemic_medication();
  REQUIRE(f.post(medication).reply.status == 201);
  CHECK(f.count("SELECT count(*) FROM milestones WHERE kind = 'systemic_start' AND date = "
                "'2010-09-08'") == 1);
  CHECK(f.count("SELECT count(*) FROM milestones WHERE kind = 'systemic_stop' AND date = "
                "'2012-01-15'") == 1);
  // The period's start is stored before its end: the milestone log reads in that order.
  auto log = f.db.prepare("SELECT kind FROM milestone_changes ORDER BY id");
  std::vector<std::string> logged;
  while (log.step()) logged.push_back(log.text(0));
  CHECK(logged == std::vector<std::string>{"resection", "systemic_start", "systemic_stop"});

  SECTION("entered-in-error removes the milestone") {
    procedure["status"] = "entered-in-error";
    REQUIRE(f.post(procedure).reply.status == 201);
    CHECK(f.count("SELECT count(*) FROM milestones WHERE kind = 'resection'") == 0);
    CHECK(f.count("SELECT count(*) FROM milestone_changes c JOIN messages m ON "
                  "m.id = c.message_id WHERE c.change = 'removed' AND c.kind = 'resection' AND "
                  "c.note = 'hepatectomy' AND c.source = 'fhir' AND m.transport = 'http'") == 1);
    // A removal for a patient never stored removes nothing and adds no patient.
    const auto patients = f.count("SELECT count(*) FROM patients");
    procedure["subject"]["identifier"]["value"] = "P-unknown";
    CHECK(f.post(procedure).reply.status == 200);
    CHECK(f.count("SELECT count(*) FROM patients") == patients);
  }
  SECTION("a procedure that was not done, or is not configured, is no milestone") {
    procedure["status"] = "not-done";
    procedure["performedDateTime"] = "2017-01-01";
    CHECK(f.post(procedure).reply.status == 200);
    procedure["status"] = "completed";
    procedure["code"]["coding"][0]["code"] = "1";
    CHECK(f.post(procedure).reply.status == 200);
    CHECK(f.count("SELECT count(*) FROM milestones") == 3);
  }
  SECTION("the built-in chemotherapy code (Procedure-f201's) starts systemic therapy") {
    procedure["code"]["coding"][0]["code"] = "367336001";
    procedure["performedDateTime"] = "2013-01-28";
    REQUIRE(f.post(procedure).reply.status == 201);
    CHECK(f.count("SELECT count(*) FROM milestones WHERE kind = 'systemic_start'") == 2);
  }
}

TEST_CASE("fhir: bad bodies are refused with an OperationOutcome and change nothing",
          "[fhir][bad-input]") {
  FhirFixture f;
  REQUIRE(f.post(afp_observation("keep", 10)).reply.status == 201);
  const auto before = f.state();
  const auto good = afp_observation("new", 11).dump();
  struct Case {
    std::string body;
    std::string endpoint;
    std::string expect;
  };
  std::string deep(70, '[');
  const std::vector<Case> cases = {
      {"", "", "has no body; an empty subscription notification cannot be followed up"},
      {" \r\n", "", "cannot be followed up without [fhir.upstream]"},
      {"not json", "", "not valid JSON"},
      {good.substr(0, good.size() / 2), "", "not valid JSON"},  // truncated
      {"{\"resourceType\": \"Observation\", \"status\": \"final\xff\"}", "", "not valid JSON"},
      {deep, "", "nested deeper than 64"},
      {"[]", "", "must be a JSON object"},
      {"{\"resourceType\": 7}", "", "resourceType: is required"},
      {"{\"resourceType\": \"Patient\"}", "", "Patient is not accepted"},
      {good, "Procedure", "cannot be posted to /fhir/Procedure"},
      {"{\"resourceType\": \"Bundle\", \"type\": \"document\"}", "", "'document' is not accepted"},
      {"{\"resourceType\": \"Bundle\", \"type\": \"batch\", \"entry\": {}}", "",
       "must be an array"},
  };
  for (const auto& c : cases) {
    INFO(c.body.substr(0, 60));
    const auto out = f.post(c.body, c.endpoint);
    CHECK(out.reply.status == 400);
    CHECK(out.reply.body["resourceType"] == "OperationOutcome");
    CHECK_THAT(diagnostics(out.reply.body), Catch::Contains(c.expect));
    CHECK(out.outcome == "rejected");
    CHECK(f.state() == before);
  }

  auto hostile = [&](const std::function<void(Json&)>& change, const std::string& expect) {
    auto o = afp_observation("hostile", 11);
    change(o);
    const auto out = f.post(o);
    INFO(o.dump().substr(0, 200));
    CHECK(out.reply.status == 422);
    CHECK_THAT(diagnostics(out.reply.body), Catch::Contains(expect));
    CHECK(f.state() == before);
  };
  hostile([](Json& o) { o.erase("status"); }, "Observation.status: is required");
  hostile([](Json& o) { o["status"] = "done"; }, "is not an Observation status");
  hostile([](Json& o) { o["status"] = 1; }, "Observation.status: must be a string");
  hostile([](Json& o) { o["subject"]["identifier"]["value"] = "P\n1"; }, "control characters");
  hostile([](Json& o) { o["subject"]["identifier"]["value"] = std::string(300, 'x'); },
          "longer than 200");
  hostile([](Json& o) { o["subject"] = "Patient/1"; }, "Observation.subject: must be an object");
  hostile([](Json& o) { o.erase("subject"); }, "Observation.subject: is required");
  hostile([](Json& o) { o["valueQuantity"]["value"] = -1; }, "is negative");
  hostile([](Json& o) { o["valueQuantity"]["comparator"] = "ad"; }, "is not <, <=, >= or >");
  hostile([](Json& o) { o["effectivePeriod"]["start"] = "2013-02-30T00:00:00Z"; },
          "is not a dateTime precise to the day");
  hostile([](Json& o) { o["code"]["coding"] = "1834-1"; },
          "Observation.code.coding: must be an array");
  hostile(
      [](Json& o) {
        o.erase("valueQuantity");
        o["valueCodeableConcept"] = Json::object();
      },
      "needs valueQuantity");
  hostile([](Json& o) { o["id"] = std::string(100, 'a'); }, "Observation.id: is longer than 64");
}
