// The page cache (store/page_cache.hpp) answers a truncation itself only when no page can be
// affected: the rule alone, then SQLite running on it.
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>

#include "store/database.hpp"
#include "store/page_cache.hpp"
#include "test_support.hpp"

using namespace markerwatch;

namespace {
// 1 GiB / 4 KiB + 1: where SQLite parks a page while it renumbers the pages of a split.
constexpr unsigned kParking = 262145;

store::PageNumbers created_up_to(unsigned highest) {
  store::PageNumbers numbers;
  for (unsigned n = 1; n <= highest; ++n) numbers.created(n);
  return numbers;
}
}  // namespace

TEST_CASE("page numbers: a page parked during a split and moved back leaves nothing beyond") {
  auto numbers = created_up_to(100);
  // btree.c balance_nonroot swapping pages 40 and 70.
  numbers.moved(40, kParking);
  CHECK(numbers.any_from(101));
  numbers.moved(70, 40);
  numbers.moved(kParking, 70);
  CHECK_FALSE(numbers.any_from(101));
  CHECK(numbers.any_from(100));
  CHECK(numbers.any_from(1));
}

TEST_CASE("page numbers: a page created or left beyond the limit is seen until truncated") {
  auto numbers = created_up_to(10);
  CHECK_FALSE(numbers.any_from(11));

  numbers.moved(5, 500);  // moved above and left there
  CHECK(numbers.any_from(11));
  CHECK(numbers.any_from(500));
  CHECK_FALSE(numbers.any_from(501));
  numbers.truncated(11);
  CHECK_FALSE(numbers.any_from(11));

  numbers.created(30);  // a transaction that grew the file, then rolled back
  CHECK(numbers.any_from(11));
  CHECK(numbers.any_from(30));
  numbers.truncated(11);
  CHECK_FALSE(numbers.any_from(11));
  CHECK(numbers.any_from(10));

  numbers.truncated(0);  // everything dropped
  CHECK_FALSE(numbers.any_from(1));
  CHECK_FALSE(numbers.any_from(0));
}

TEST_CASE("page numbers: a page moved within the created range is not beyond it") {
  auto numbers = created_up_to(50);
  numbers.moved(10, 20);
  CHECK_FALSE(numbers.any_from(51));
  numbers.moved(20, 60);
  CHECK(numbers.any_from(51));
  numbers.moved(60, 10);
  CHECK_FALSE(numbers.any_from(51));
}

TEST_CASE("page cache: commits after page splits skip the scan, rollbacks still drop pages") {
  test::TempDir dir;
  store::OpenOptions options;
  options.wal_autocheckpoint = 0;
  store::Database db((dir.path() / "p.db").string(), options);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v BLOB)");
  db.exec("CREATE INDEX t_k ON t (k)");
  std::map<std::string, std::size_t> expected;  // key -> payload size, what the table must hold
  std::mt19937 random(7);
  auto insert = db.prepare("INSERT INTO t (k, v) VALUES (?, ?)");
  auto add_rows = [&](int rows, std::map<std::string, std::size_t>* into) {
    for (int i = 0; i < rows; ++i) {
      // Random keys split index pages all over the tree: SQLite then renumbers new pages.
      const auto key = std::to_string(random()) + "-" + std::to_string(random());
      const std::string payload(100 + random() % 400, 'v');
      insert.bind(1, key).bind_blob(2, payload).run();
      if (into) (*into)[key] = payload.size();
    }
  };

  const auto before = store::page_cache_counts();
  REQUIRE(before.installed);           // by the first Database, before SQLite initialised
  CHECK(store::install_page_cache());  // again: nothing changes
  for (int commit = 0; commit < 40; ++commit) {
    store::Transaction txn(db);
    add_rows(200, &expected);
    txn.commit();
  }
  const auto after_commits = store::page_cache_counts();
  CHECK(after_commits.truncations_skipped >= before.truncations_skipped + 40);
  // No commit needed SQLite's scan (each would without the parked page moved back).
  CHECK(after_commits.truncations_passed == before.truncations_passed);

  {
    store::Transaction txn(db);
    add_rows(100, &expected);
    {
      store::Savepoint failed(db);  // a message that failed: the pages it added are dropped
      add_rows(500, nullptr);
    }
    txn.commit();
  }
  const auto after_savepoint = store::page_cache_counts();
  CHECK(after_savepoint.truncations_passed > after_commits.truncations_passed);

  {
    store::Transaction growing(db);  // grows the file by hundreds of pages, then rolls back
    add_rows(3000, nullptr);
  }
  CHECK(store::page_cache_counts().truncations_passed > after_savepoint.truncations_passed);

  // The table is what was committed, read through the cache and checked by SQLite.
  auto check = db.prepare("PRAGMA integrity_check");
  REQUIRE(check.step());
  CHECK(check.text(0) == "ok");
  std::map<std::string, std::size_t> stored;
  auto rows = db.prepare("SELECT k, length(v) FROM t ORDER BY k");
  while (rows.step()) stored[rows.text(0)] = static_cast<std::size_t>(rows.int64(1));
  CHECK(stored.size() == 40 * 200 + 100);
  CHECK(stored == expected);

  // And it goes on growing where the rolled-back pages were.
  {
    store::Transaction txn(db);
    add_rows(3000, &expected);
    txn.commit();
  }
  store::Database reader((dir.path() / "p.db").string(), store::OpenOptions{});
  auto count = reader.prepare("SELECT count(*), sum(length(v)) FROM t");
  REQUIRE(count.step());
  CHECK(count.int64(0) == static_cast<std::int64_t>(expected.size()));
  std::int64_t bytes = 0;
  for (const auto& [key, size] : expected) bytes += static_cast<std::int64_t>(size);
  CHECK(count.int64(1) == bytes);
  auto check_again = reader.prepare("PRAGMA integrity_check");
  REQUIRE(check_again.step());
  CHECK(check_again.text(0) == "ok");
}
