#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>

#include "core/errors.hpp"
#include "store/alert_store.hpp"
#include "store/migrations.hpp"
#include "store/result_records.hpp"
#include "store/result_store.hpp"
#include "test_support.hpp"

using namespace markerwatch;
using namespace markerwatch::store;

namespace {

ResultRecord afp(const std::string& date, std::optional<double> value,
                 ResultStatus status = ResultStatus::final_result, const std::string& obs = "") {
  return test::result_record("case-001", "AFP", date, value, status, obs);
}

StoreResult put(ResultStore& s, const ResultRecord& r) {
  return s.store_result(r, s.patient(r.patient, "t"), {}, "t");
}

std::vector<double> effective_values(ResultStore& s) {
  std::vector<double> out;
  for (const auto& r : s.results("case-001", "AFP", true)) out.push_back(r.value.value_or(-1));
  return out;
}

}  // namespace

TEST_CASE("a new database: 0600, WAL, foreign keys, schema recorded") {
  test::TempDir dir;
  const auto path = (dir.path() / "sub/mw.db").string();
  {
    Database db(path, {});
    auto report = migrate(db);
    CHECK(report.from_version == 0);
    CHECK(report.to_version == embedded_schema().back().version);
    auto q = db.prepare("PRAGMA journal_mode");
    REQUIRE(q.step());
    CHECK(q.text(0) == "wal");
    auto fk = db.prepare("PRAGMA foreign_keys");
    REQUIRE(fk.step());
    CHECK(fk.int64(0) == 1);
    auto sync = db.prepare("PRAGMA synchronous");
    REQUIRE(sync.step());
    CHECK(sync.int64(0) == 2);  // FULL
  }
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  Database again(path, {});
  auto second = migrate(again);
  CHECK(second.from_version == second.to_version);  // applied once only
}

TEST_CASE("a database newer than the binary is refused with a clear message") {
  test::TempDir dir;
  const auto path = (dir.path() / "mw.db").string();
  {
    Database db(path, {});
    migrate(db);
    db.exec("INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', 'x')");
  }
  Database db(path, {});
  CHECK_THROWS_WITH(migrate(db),
                    Catch::Contains("has schema version 9999, newer than this markerwatch knows"));
}

TEST_CASE("a file that is not a database is refused with its path, and left as it was") {
  test::TempDir dir;
  const auto path = (dir.path() / "notes.db").string();
  const std::string text = "patient notes, not a database\n";
  std::ofstream(path) << text;
  CHECK_THROWS_WITH(Database(path, {}), Catch::StartsWith("cannot open database " + path + ": ") &&
                                            Catch::EndsWith("file is not a database"));
  CHECK(test::read_file(path) == text);
}

TEST_CASE("a failing schema file leaves the database as it was") {
  test::TempDir dir;
  Database db((dir.path() / "mw.db").string(), {});
  std::vector<SchemaFile> files = embedded_schema();
  files.push_back({files.back().version + 1, "bad.sql", "CREATE TABLE x (a); SELECT * FROM nope;"});
  CHECK_THROWS_WITH(migrate(db, files), Catch::Contains("bad.sql failed"));
  CHECK(schema_version(db) == 0);
  auto q = db.prepare("SELECT count(*) FROM sqlite_master WHERE name IN ('x', 'results')");
  REQUIRE(q.step());
  CHECK(q.int64(0) == 0);
}

TEST_CASE("result versions: correction replaces, deletion removes, identical is a no-op") {
  Database db(":memory:", {});
  migrate(db);
  ResultStore s(db);
  CHECK(put(s, afp("2016-12-15", 45985, ResultStatus::final_result, "o1")) == StoreResult::stored);
  CHECK(put(s, afp("2016-12-15", 45985, ResultStatus::final_result, "o1")) ==
        StoreResult::unchanged);
  CHECK(effective_values(s) == std::vector<double>{45985});
  put(s, afp("2016-12-15", 4598.5, ResultStatus::corrected, "o1"));
  CHECK(effective_values(s) == std::vector<double>{4598.5});
  // A late final never undoes its correction.
  put(s, afp("2016-12-15", 1, ResultStatus::final_result, "o1"));
  CHECK(effective_values(s) == std::vector<double>{4598.5});
  put(s, afp("2016-12-15", std::nullopt, ResultStatus::entered_in_error, "o1"));
  CHECK(effective_values(s).empty());
  CHECK(s.results("case-001", "AFP", false).size() == 4);  // every version is kept
}

TEST_CASE("an id-less correction needs a single value on its date") {
  Database db(":memory:", {});
  migrate(db);
  ResultStore s(db);
  put(s, afp("2013-07-10", 29.37));
  put(s, afp("2013-07-10", 30.0, ResultStatus::corrected));
  CHECK(effective_values(s) == std::vector<double>{30.0});
  put(s, afp("2013-10-02", 340));
  put(s, afp("2013-10-02", 341, ResultStatus::final_result, "lab-2"));
  CHECK_THROWS_WITH(put(s, afp("2013-10-02", 1, ResultStatus::corrected)),
                    Catch::Contains("matches several AFP values on 2013-10-02"));
  CHECK(effective_values(s) == std::vector<double>{30.0, 340, 341});
}

TEST_CASE("milestones are stored once, and the milestone log has each addition once") {
  Database db(":memory:", {});
  migrate(db);
  ResultStore s(db);
  MilestoneRecord m{{"case-001", ""}, "resection", "2016-10-20", "", "wedge", {}};
  CHECK(s.last_milestone_change() == 0);
  CHECK(s.store_milestone(m, {"cli", std::nullopt, "alice"}, "t1") == StoreResult::stored);
  const auto added = s.last_milestone_change();
  CHECK(s.store_milestone(m, {"cli", std::nullopt, "bob"}, "t2") == StoreResult::unchanged);
  CHECK(s.last_milestone_change() == added);  // nothing changed, nothing logged
  CHECK(s.milestones("case-001").size() == 1);
  CHECK(s.milestones("").size() == 1);
  const auto log = MilestoneLog(db).changes("case-001");
  REQUIRE(log.size() == 1);
  CHECK(log[0].at == "t1");
  CHECK(log[0].change == "added");
  CHECK(log[0].kind == "resection");
  CHECK(log[0].date == "2016-10-20");
  CHECK(log[0].note == "wedge");
  CHECK(log[0].source == "cli");
  CHECK_FALSE(log[0].message_id.has_value());
  CHECK(log[0].changed_by == "alice");
  CHECK(log[0].id == added);
}

TEST_CASE("a removed milestone stays in the milestone log as it was, with who removed it") {
  Database db(":memory:", {});
  migrate(db);
  ResultStore s(db);
  const auto message = s.insert_message({"http", "peer", "api:lab", "c1", "sha", "t0", "{}"},
                                        {"accepted", "", "", 0, 0, {}});
  MilestoneRecord m{{"case-001", ""}, "resection", "2016-10-20",
                    "2016-10-21",     "wedge",     {"AFP", "PIVKA-II"}};
  s.store_milestone(m, {"api", message, ""}, "t1");
  const auto patient = s.find_patient(m.patient);
  REQUIRE(patient);
  // A removal names patient, kind, date and markers; its end date and note do not count.
  MilestoneRecord removal{{"case-001", ""}, "resection", "2016-10-20", "", "", {"AFP"}};
  CHECK(s.remove_milestone(*patient, removal, {"cli", std::nullopt, "carol"}, "t2") ==
        StoreResult::unchanged);  // other markers: not this milestone
  removal.markers = {"AFP", "PIVKA-II"};
  CHECK(s.remove_milestone(*patient, removal, {"cli", std::nullopt, "carol"}, "t3") ==
        StoreResult::stored);
  const auto removed = s.last_milestone_change();
  CHECK(s.milestones("case-001").empty());
  CHECK(s.remove_milestone(*patient, removal, {"cli", std::nullopt, "carol"}, "t4") ==
        StoreResult::unchanged);
  const auto log = MilestoneLog(db).changes("case-001");
  REQUIRE(log.size() == 2);
  CHECK(log[0].change == "added");
  CHECK(log[0].source == "api");
  CHECK(log[0].message_id == message);
  CHECK(log[0].changed_by.empty());
  CHECK(log[1].change == "removed");
  CHECK(log[1].at == "t3");
  CHECK(log[1].end_date == "2016-10-21");  // what was stored, not what the removal said
  CHECK(log[1].note == "wedge");
  CHECK(log[1].markers == "AFP;PIVKA-II");
  CHECK(log[1].source == "cli");
  CHECK(log[1].changed_by == "carol");
  CHECK(log[1].id == removed);
  CHECK(log[1].id > log[0].id);
  CHECK(MilestoneLog(db).changes("someone-else").empty());
  CHECK(MilestoneLog(db).changes("").size() == 2);
  CHECK(to_json(log[1])["by"] == "carol");
  CHECK(to_json(log[1])["message_id"].is_null());
  CHECK(to_json(log[1])["id"] == removed);
}

TEST_CASE("milestones stored before the milestone log existed enter it as additions") {
  test::TempDir dir;
  const auto path = (dir.path() / "mw.db").string();
  std::vector<SchemaFile> before_the_log;
  for (const auto& f : embedded_schema())
    if (f.version < 9) before_the_log.push_back(f);
  {
    Database db(path, {});
    migrate(db, before_the_log);
    db.exec(
        "INSERT INTO patients (id, identifier, authority, created_at) VALUES "
        "(7, 'case-001', 'H', 'x')");
    db.exec(
        "INSERT INTO milestones (patient_id, kind, date, end_date, note, markers, source, "
        "created_at) VALUES (7, 'tace', '2013-06-12', '', 'n', 'AFP', 'csv', "
        "'2020-01-02T03:04:05Z'), (7, 'resection', '2016-10-20', '', '', '', 'cli', "
        "'2020-02-03T04:05:06Z')");
  }
  Database db(path, {});
  migrate(db);
  const auto log = MilestoneLog(db).changes("case-001^H");
  REQUIRE(log.size() == 2);
  CHECK(log[0].change == "added");
  CHECK(log[0].kind == "tace");
  CHECK(log[0].at == "2020-01-02T03:04:05Z");
  CHECK(log[0].markers == "AFP");
  CHECK(log[0].source == "csv");
  CHECK(log[1].kind == "resection");
  CHECK(log[1].source == "cli");
  CHECK(log[1].changed_by.empty());  // not known before the log
}

TEST_CASE("statements are parameterised: hostile strings are data") {
  Database db(":memory:", {});
  migrate(db);
  ResultStore s(db);
  auto r = afp("2016-01-01", 5);
  r.patient.id = "x'); DROP TABLE results; --";
  put(s, r);
  CHECK(s.results("x'); DROP TABLE results; --", "", true).size() == 1);
}

namespace {

// Every field the engine reads, so two histories compare exactly.
auto engine_fields(const engine::Value& v) {
  return std::make_tuple(v.marker, v.method, v.day, v.value, v.comparator, v.unit, v.own_uln,
                         v.obs_id);
}

// A patient's rows in a tricky arrival order: dates out of order, two markers and two methods,
// corrections (one before its original), a late final after its correction, an id-less
// correction, a removal, preliminary versions, censored values, a result's own ULN, an identical
// repeat and an ambiguous id-less correction (refused).
std::vector<ResultRecord> tricky_rows() {
  std::vector<ResultRecord> rows;
  auto add = [&](const std::string& marker, const std::string& method, const std::string& date,
                 std::optional<double> value, ResultStatus status, const std::string& obs) {
    ResultRecord r = afp(date, value, status, obs);
    r.marker = marker;
    r.method = method;
    rows.push_back(r);
    return &rows.back();
  };
  add("AFP", "", "2016-12-15", 45985, ResultStatus::final_result, "o1");
  add("AFP", "", "2016-12-15", 45985, ResultStatus::final_result, "o1");  // identical: no-op
  add("AFP", "", "2016-12-15", 4598.5, ResultStatus::corrected, "o1");
  add("AFP", "", "2016-12-15", 1, ResultStatus::final_result, "o1");  // late final
  add("AFP", "", "2015-03-01", 12, ResultStatus::final_result, "");
  add("AFP", "", "2015-03-01", 13, ResultStatus::corrected, "");   // id-less correction
  add("AFP", "", "2014-01-10", 7, ResultStatus::corrected, "o2");  // before its original
  add("AFP", "", "2014-01-10", 70, ResultStatus::final_result, "o2");
  add("AFP", "", "2017-02-01", 5, ResultStatus::preliminary, "o3");
  add("AFP", "", "2017-02-01", 6, ResultStatus::final_result, "o3");
  add("AFP", "", "2017-05-01", 3, ResultStatus::final_result, "o4");
  add("AFP", "", "2017-05-01", std::nullopt, ResultStatus::entered_in_error, "o4");
  add("AFP", "", "2017-06-01", 2, ResultStatus::preliminary, "o5");
  add("AFP", "", "2017-07-01", 1, ResultStatus::final_result, "o6")->comparator = Comparator::less;
  add("AFP", "", "2017-07-01", 9, ResultStatus::final_result, "o7")->uln = 8.5;
  add("AFP", "", "2017-07-01", 11, ResultStatus::final_result, "");
  add("AFP", "", "2017-07-01", 12, ResultStatus::final_result, "");
  add("AFP", "", "2017-07-01", 1, ResultStatus::corrected, "");  // ambiguous: refused
  add("AFP", "lab-b", "2015-03-01", 20, ResultStatus::final_result, "");
  add("CEA", "", "2015-03-01", 3.2, ResultStatus::final_result, "")->unit = "ug/L";
  add("CEA", "", "2013-01-01", 40000, ResultStatus::final_result, "")->comparator =
      Comparator::greater;
  return rows;
}

}  // namespace

TEST_CASE("a new patient's rows kept in memory decide and read back as the database does") {
  Database queried(":memory:", {}), kept(":memory:", {});
  migrate(queried);
  migrate(kept);
  ResultStore by_query(queried), by_memory(kept);
  const auto patient = by_memory.find_or_add_patient({"case-001", ""}, "t");
  REQUIRE(patient.created);
  CHECK_FALSE(by_memory.find_or_add_patient({"case-001", ""}, "t").created);
  NewPatientRows rows;
  int refused = 0;
  for (const auto& r : tricky_rows()) {
    std::optional<StoreResult> a, b;
    try {
      a = put(by_query, r);
    } catch (const InputError&) {
    }
    try {
      b = by_memory.store_result(r, patient.id, {}, "t", &rows);
    } catch (const InputError&) {
      ++refused;
    }
    CHECK(a == b);
  }
  CHECK(refused == 1);
  CHECK(by_memory.results("case-001", "", false).empty());  // kept, not yet written
  by_memory.write_new_rows(patient.id, rows, "t");
  // The same rows with the same E3 flags in both databases, every column alike (19 rows: one
  // statement of 16 rows, then one of three).
  auto stored = [](Database& db) {
    std::vector<std::string> out;
    auto q = db.prepare(
        "SELECT quote(id) || '|' || quote(patient_id) || '|' || quote(marker) || '|' || "
        "quote(method) || '|' || quote(collected_at) || '|' || quote(collected_date) || '|' || "
        "quote(collected_raw) || '|' || quote(collected_offset_assumed) || '|' || quote(value) || "
        "'|' || quote(comparator) || '|' || quote(value_raw) || '|' || quote(unit) || '|' || "
        "quote(unit_raw) || '|' || quote(reference_range) || '|' || quote(uln) || '|' || "
        "quote(status) || '|' || quote(obs_id) || '|' || quote(version_time) || '|' || "
        "quote(source) || '|' || quote(message_id) || '|' || quote(effective) || '|' || "
        "quote(stored_at) FROM results ORDER BY id");
    while (q.step()) out.push_back(q.text(0));
    return out;
  };
  const auto expected = stored(queried);
  CHECK(expected.size() == 19);  // 21 rows: one identical repeat, one refused
  CHECK(stored(kept) == expected);
  // And the engine's history from memory is the one the database gives, value for value and, in
  // each series, in the same order (the engine orders a series' values itself; where two of them
  // tie, the order they came in decides, so it must not depend on where they were read).
  AlertStore alerts(kept);
  using Fields = decltype(engine_fields(engine::Value{}));
  auto by_series = [](const std::vector<engine::Value>& values) {
    std::map<std::pair<std::string, std::string>, std::vector<Fields>> out;
    for (const auto& v : values) out[{v.marker, v.method}].push_back(engine_fields(v));
    return out;
  };
  const auto from_db = alerts.history(patient.id);
  const auto from_memory = alerts.history(patient.id, &rows);
  CHECK(from_memory.patient == "case-001");
  CHECK(from_db.values.size() == 11);  // not the removed, the preliminary, the replaced
  CHECK(by_series(from_db.values) == by_series(from_memory.values));
  // Scoped to markers, the database gives their values only, the same ones in the same order, and
  // a marker named twice is read once.
  for (const auto& scope :
       {std::vector<std::string>{"AFP"}, {"CEA"}, {"CEA", "AFP"}, {"AFP", "CEA", "AFP"}}) {
    std::vector<engine::Value> expected_values;
    for (const auto& v : from_db.values)
      if (std::find(scope.begin(), scope.end(), v.marker) != scope.end())
        expected_values.push_back(v);
    const auto scoped = alerts.history(patient.id, nullptr, scope);
    CHECK_FALSE(expected_values.empty());
    CHECK(scoped.values.size() == expected_values.size());
    CHECK(by_series(scoped.values) == by_series(expected_values));
  }
  CHECK(alerts.history(patient.id, nullptr, {"PSA"}).values.empty());
  // Each scoped read is one index range of the patient's series, not a walk over the patient's
  // other results (issue #3: an evaluation's cost is bounded by the series).
  auto plan = kept.prepare(
      "EXPLAIN QUERY PLAN SELECT value FROM results WHERE patient_id = 1 AND marker = 'AFP' "
      "AND effective = 1 AND value IS NOT NULL");
  REQUIRE(plan.step());
  CHECK_THAT(plan.text(3), Catch::Contains("results_by_series (patient_id=? AND marker=?)"));
}

TEST_CASE("a new patient's rows are written in arrival order, however many there are") {
  // 1 to 40 rows: one statement, several of the largest size, and every size of remainder.
  for (std::size_t count = 1; count <= 40; ++count) {
    Database db(":memory:", {});
    migrate(db);
    ResultStore store(db);
    const auto patient = store.find_or_add_patient({"case-001", ""}, "t");
    NewPatientRows rows;
    for (std::size_t i = 0; i < count; ++i) {
      auto r = afp("2016-12-15", static_cast<double>(i) + 0.5, ResultStatus::final_result,
                   "o" + std::to_string(i));
      REQUIRE(store.store_result(r, patient.id, {}, "t", &rows) == StoreResult::stored);
    }
    store.write_new_rows(patient.id, rows, "t");
    INFO(count << " rows");
    std::vector<std::string> stored;
    auto q = db.prepare("SELECT obs_id || '=' || value FROM results ORDER BY id");
    while (q.step()) stored.push_back(q.text(0));
    std::vector<std::string> expected;
    for (std::size_t i = 0; i < count; ++i)
      expected.push_back("o" + std::to_string(i) + "=" + std::to_string(i) + ".5");
    CHECK(stored == expected);
  }
}

TEST_CASE("patients: an identifier without an authority finds the one patient it names") {
  Database db(":memory:", {});
  migrate(db);
  ResultStore store(db);
  const std::string now = "2026-01-01T00:00:00Z";
  auto count = [&](const std::string& sql) {
    auto q = db.prepare(sql);
    q.step();
    return q.int64(0);
  };
  // The lab's patient, then the same identifier without an authority (a CSV row, the CLI).
  const auto lab = store.find_or_add_patient({"mrn1", "HOSP"}, now);
  CHECK(lab.created);
  const auto by_hand = store.find_or_add_patient({"mrn1", ""}, now);
  CHECK_FALSE(by_hand.created);
  CHECK(by_hand.id == lab.id);

  // Entered by hand first: the lab's first result names that patient, which takes the authority;
  // another authority's patient with the same identifier is someone else.
  const auto early = store.find_or_add_patient({"mrn2", ""}, now);
  CHECK(early.created);
  const auto claimed = store.find_or_add_patient({"mrn2", "HOSP"}, now);
  CHECK_FALSE(claimed.created);
  CHECK(claimed.id == early.id);
  CHECK(count("SELECT count(*) FROM patients WHERE identifier = 'mrn2' AND authority = 'HOSP'") ==
        1);
  const auto other = store.find_or_add_patient({"mrn2", "CLINIC"}, now);
  CHECK(other.created);
  CHECK(other.id != early.id);

  // Now "mrn2" alone names two patients: refused, nothing added.
  const auto before = count("SELECT count(*) FROM patients");
  CHECK_THROWS_WITH(store.find_or_add_patient({"mrn2", ""}, now),
                    Catch::Contains("several assigning authorities (CLINIC, HOSP)") &&
                        Catch::Contains("mrn2^AUTHORITY"));
  CHECK(count("SELECT count(*) FROM patients") == before);
  // An identifier never seen: a new patient without an authority.
  CHECK(store.find_or_add_patient({"mrn3", ""}, now).created);

  // Looking up makes the same choice and writes nothing: no patient added, no authority claimed.
  const auto patients = count("SELECT count(*) FROM patients");
  CHECK(store.find_patient({"mrn1", ""}) == lab.id);
  CHECK(store.find_patient({"mrn2", "CLINIC"}) == other.id);
  CHECK(store.find_patient({"mrn3", "LAB"}).has_value());  // would be claimed
  CHECK(count("SELECT count(*) FROM patients WHERE identifier = 'mrn3' AND authority = ''") == 1);
  CHECK_FALSE(store.find_patient({"mrn4", ""}).has_value());
  CHECK_FALSE(store.find_patient({"mrn1", "CLINIC"}).has_value());
  CHECK_THROWS_WITH(store.find_patient({"mrn2", ""}), Catch::Contains("several assigning"));
  CHECK(count("SELECT count(*) FROM patients") == patients);
}

// Schema 6: a series is one range of the series index, with no table row read per value, and its
// values come in the index's order: collection date, then arrival (the engine breaks ties by it).
TEST_CASE("a series is read from the series index alone, in arrival order within a date") {
  Database db(":memory:", {});
  migrate(db);
  for (const bool one_marker : {true, false}) {
    auto plan = db.prepare("EXPLAIN QUERY PLAN " + AlertStore::values_query(one_marker));
    std::string steps;
    while (plan.step()) steps += plan.text(3) + ";";
    INFO(steps);
    CHECK(steps.find("USING COVERING INDEX results_by_series") != std::string::npos);
    CHECK(steps.find("TEMP B-TREE") == std::string::npos);  // its order is the index's
  }
  ResultStore s(db);
  put(s, afp("2016-03-01", 900));
  put(s, afp("2016-02-01", 50, ResultStatus::final_result, "b"));
  put(s, afp("2016-02-01", 5, ResultStatus::final_result, "a"));
  put(s, afp("2016-02-01", 500, ResultStatus::final_result, "c"));
  const auto id = s.patient({"case-001", ""}, "t");
  AlertStore alerts(db);
  std::vector<double> values;
  for (const auto& v : alerts.history(id, nullptr, {"AFP"}).values) values.push_back(v.value);
  CHECK(values == std::vector<double>{50, 5, 500, 900});
}

TEST_CASE("a long schema upgrade reports that it is still working, and only while it runs") {
  Database db(":memory:", {});
  std::vector<SchemaFile> files = embedded_schema();
  // Long enough for many ticks at `every` = 0: a table filled from a recursive query.
  files.push_back(
      {files.back().version + 1, "slow.sql",
       "CREATE TABLE filler (x); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
       "FROM c WHERE x < 300000) INSERT INTO filler SELECT x FROM c;"});
  int ticks = 0;
  migrate(db, files, {.still_working = [&] { ++ticks; }, .every = std::chrono::milliseconds(0)});
  CHECK(ticks > 1);
  const int after_upgrade = ticks;
  db.exec("SELECT count(*) FROM filler a, (SELECT 1 UNION SELECT 2) b");
  CHECK(ticks == after_upgrade);  // the handler went with the upgrade
  // Nothing to apply: no tick either way.
  migrate(db, files, {.still_working = [&] { ++ticks; }, .every = std::chrono::milliseconds(0)});
  CHECK(ticks == after_upgrade);
}
