// The writer's cache of series (store/series_cache.hpp) must give exactly what the database gives:
// after every kind of result, and after every change it is not told of.
#include <catch2/catch.hpp>
#include <random>
#include <tuple>

#include "core/errors.hpp"
#include "store/alert_store.hpp"
#include "store/migrations.hpp"
#include "store/result_records.hpp"
#include "store/result_store.hpp"
#include "store/series_cache.hpp"
#include "test_support.hpp"

using namespace markerwatch;
using namespace markerwatch::store;

namespace {

using Fields = std::tuple<std::string, std::string, int, double, Comparator, std::string,
                          std::optional<double>, std::string>;

std::vector<Fields> fields(const std::vector<engine::Value>& values) {
  std::vector<Fields> out;
  for (const auto& v : values)
    out.emplace_back(v.marker, v.method, v.day, v.value, v.comparator, v.unit, v.own_uln, v.obs_id);
  return out;
}

using test::result_record;

Database& migrated(Database& db) {
  migrate(db);
  return db;
}

// A database with the writer's arrangement (a cache shared by the store and the history reads)
// and, beside it, what the history reads give without a cache on the same connection.
struct CachedDatabase {
  explicit CachedDatabase(const std::string& path, std::size_t max_values = 1000)
      : db(path, {}),
        cache(migrated(db), max_values),
        results(db, &cache),
        cached(db, &cache),
        uncached(db) {}

  std::int64_t put(const ResultRecord& r) {
    const auto id = results.patient(r.patient, "t");
    results.store_result(r, id, {}, "t");
    return id;
  }
  // The history both ways; they must agree. The cached one's values are then handed back, as
  // AlertEvaluator does once it has evaluated them.
  std::vector<engine::Value> history(std::int64_t patient_id,
                                     const std::vector<std::string>& markers = {"AFP", "CEA"}) {
    auto from_cache = cached.history(patient_id, nullptr, markers).values;
    auto from_db = uncached.history(patient_id, nullptr, markers).values;
    CHECK(fields(from_cache) == fields(from_db));
    auto returned = from_cache;
    cached.return_values(patient_id, std::move(returned));
    return from_cache;
  }

  Database db;
  SeriesCache cache;
  ResultStore results;
  AlertStore cached, uncached;
};

}  // namespace

TEST_CASE("the series cache answers with what the database holds, and only in a transaction") {
  CachedDatabase c(":memory:");
  std::int64_t patient = 0;
  {
    Transaction txn(c.db);
    patient = c.put(result_record("p1", "AFP", "2016-01-10", 5.0));
    c.put(result_record("p1", "AFP", "2016-03-01", 7.0));
    CHECK(c.cache.values_kept() == 0);
    CHECK(c.history(patient).size() == 2);
    // Read once, kept: the next rows are added to it, each after the values of its date.
    CHECK(c.cache.values_kept() == 2);
    c.put(result_record("p1", "AFP", "2016-02-01", 6.0));  // a late arrival, between the two
    c.put(result_record("p1", "AFP", "2016-03-01", 8.0));  // the same date, a second observation
    c.put(result_record("p1", "AFP", "2016-04-01", 1.0,
                        ResultStatus::preliminary));  // does not count
    CHECK(c.cache.values_kept() == 4);
    auto values = c.cached.history(patient, nullptr, {"AFP"}).values;
    CHECK(c.cache.values_kept() == 0);  // handed over
    REQUIRE(values.size() == 4);
    CHECK(values[1].value == 6.0);
    CHECK(values[3].value == 8.0);
    c.cached.return_values(patient, std::move(values));
    CHECK(c.cache.values_kept() == 4);
    // Handed back after a change to the results they were read before: not kept.
    values = c.cached.history(patient, nullptr, {"AFP"}).values;
    c.put(result_record("p1", "AFP", "2016-05-01", 2.0));
    c.cached.return_values(patient, std::move(values));
    CHECK(c.cache.values_kept() == 0);
    CHECK(c.history(patient).size() == 5);
    txn.commit();
  }
  // Outside a transaction the cache does not answer: nothing stops another connection then.
  CHECK_FALSE(c.cache.current());
  c.history(patient);
}

TEST_CASE("the series cache forgets what changed without it being told") {
  test::TempDir dir;
  const auto path = (dir.path() / "mw.db").string();
  CachedDatabase c(path);
  std::int64_t patient = 0;
  {
    Transaction txn(c.db);
    patient =
        c.put(result_record("p1", "AFP", "2016-01-10", 5.0, ResultStatus::final_result, "o1"));
    c.history(patient);
    txn.commit();
  }

  // The patient's one value, read through the cache (and checked against the database).
  auto single_value = [&] {
    const auto values = c.history(patient);
    REQUIRE(values.size() == 1);
    return values[0].value;
  };
  SECTION("a correction, whose earlier version stops counting") {
    Transaction txn(c.db);
    CHECK(single_value() == 5.0);
    c.put(result_record("p1", "AFP", "2016-01-10", 50.0, ResultStatus::corrected, "o1"));
    CHECK(single_value() == 50.0);
  }
  SECTION("a write by other code on the same connection") {
    Transaction txn(c.db);
    CHECK(single_value() == 5.0);
    c.db.exec("UPDATE results SET value = 9.5");
    CHECK(single_value() == 9.5);
  }
  SECTION("a savepoint rolled back") {
    Transaction txn(c.db);
    CHECK(c.history(patient).size() == 1);
    {
      Savepoint sp(c.db);
      c.put(result_record("p1", "AFP", "2016-02-10", 6.0));
      CHECK(c.history(patient).size() == 2);
    }
    CHECK(c.history(patient).size() == 1);
  }
  SECTION("a transaction rolled back") {
    {
      Transaction txn(c.db);
      c.put(result_record("p1", "AFP", "2016-02-10", 6.0));
      CHECK(c.history(patient).size() == 2);
    }
    Transaction txn(c.db);
    CHECK(c.history(patient).size() == 1);
  }
  SECTION("another connection's commit") {
    {
      Database other(path, {});
      ResultStore store(other);
      Transaction txn(other);
      store.store_result(result_record("p1", "AFP", "2016-02-10", 6.0), patient, {}, "t");
      txn.commit();
    }
    Transaction txn(c.db);
    CHECK(c.history(patient).size() == 2);
  }
}

TEST_CASE("the series cache holds no more values than its limit") {
  CachedDatabase c(":memory:", 10);
  Transaction txn(c.db);
  std::vector<std::int64_t> patients;
  for (int p = 0; p < 6; ++p)
    for (int day = 1; day <= 4; ++day) {
      const auto id = c.put(result_record("p" + std::to_string(p), "AFP",
                                          "2016-01-0" + std::to_string(day), day * 1.5));
      c.history(id);
      CHECK(c.cache.room_kept() <= 10);
      CHECK(c.cache.values_kept() <= c.cache.room_kept());
      if (day == 1) patients.push_back(id);
    }
  for (auto id : patients) CHECK(c.history(id).size() == 4);
  CHECK(c.cache.room_kept() <= 10);
  // A series longer than the limit is read, never kept.
  for (int day = 10; day <= 20; ++day)
    c.put(result_record("p0", "AFP", "2016-01-" + std::to_string(day), 1.0));
  const auto kept = c.cache.values_kept();
  CHECK(c.history(patients[0]).size() == 15);
  CHECK(c.cache.values_kept() <= kept);
}

TEST_CASE(
    "the series cache agrees with the database over random arrivals, corrections and "
    "rollbacks") {
  std::mt19937 random(20261204);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  const std::vector<ResultStatus> statuses = {
      ResultStatus::final_result, ResultStatus::final_result, ResultStatus::corrected,
      ResultStatus::preliminary,  ResultStatus::amended,      ResultStatus::entered_in_error,
      ResultStatus::deleted,      ResultStatus::cancelled};
  CachedDatabase c(":memory:", 60);  // small: it also fills and starts again
  std::map<std::string, std::int64_t> ids;
  int stored = 0, refused = 0;
  for (int batch = 0; batch < 150; ++batch) {
    Transaction txn(c.db);
    for (int n = 0; n < 12; ++n) {
      const auto patient = "p" + std::to_string(pick(4));
      const std::string marker = pick(3) == 0 ? "CEA" : "AFP";
      const auto date = "2016-0" + std::to_string(1 + pick(5)) + "-1" + std::to_string(pick(3));
      const auto status = statuses[static_cast<std::size_t>(pick(8))];
      const bool removal =
          status == ResultStatus::entered_in_error || status == ResultStatus::deleted;
      auto r = result_record(patient, marker, date,
                             removal ? std::nullopt : std::optional<double>(1 + pick(50)), status,
                             pick(2) ? "o" + std::to_string(pick(4)) : "");
      if (pick(5) == 0) r.comparator = Comparator::less;
      if (pick(7) == 0) r.uln = 8.5;
      if (pick(9) == 0) r.method = "lab-b";
      Savepoint sp(c.db);
      try {
        ids[patient] = c.put(r);
        ++stored;
      } catch (const InputError&) {
        ++refused;  // an ambiguous correction: its savepoint rolls back
        continue;
      }
      if (pick(6) == 0) continue;  // rolled back
      sp.release();
      c.history(ids[patient], {marker});
    }
    for (const auto& [patient, id] : ids) c.history(id);
    CHECK(c.cache.room_kept() <= 60);
    if (pick(4) != 0) txn.commit();
  }
  CHECK(stored > 1000);
  CHECK(refused > 0);
}
