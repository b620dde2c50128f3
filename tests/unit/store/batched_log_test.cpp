// The batched-log VFS (store/batched_log_vfs.hpp) may only delay the log's writes until SQLite
// syncs it at commit: a crash right after a commit, or another connection reading, must find every
// committed frame in the file.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "store/database.hpp"
#include "test_support.hpp"

using namespace markerwatch;

namespace {
store::OpenOptions batched() {
  store::OpenOptions options;
  options.batched_log_writes = true;
  options.wal_autocheckpoint = 0;  // the frames stay in the log, where the test looks for them
  return options;
}

// Rows and payload bytes of table t, as a connection of its own reads them.
std::pair<std::int64_t, std::int64_t> contents(store::Database& db) {
  auto q = db.prepare("SELECT count(*), coalesce(sum(length(payload)), 0) FROM t");
  REQUIRE(q.step());
  return {q.int64(0), q.int64(1)};
}

// Inserts `rows` rows of `bytes` bytes each in one transaction.
void commit_rows(store::Database& db, int rows, int bytes) {
  store::Transaction txn(db);
  auto insert = db.prepare("INSERT INTO t (payload) VALUES (?)");
  const std::string payload(static_cast<std::size_t>(bytes), 'p');
  for (int i = 0; i < rows; ++i) insert.bind_blob(1, payload).run();
  txn.commit();
}
}  // namespace

TEST_CASE("batched log: what a crash right after each commit leaves holds that commit") {
  test::TempDir dir;
  const auto path = dir.path() / "w.db";
  store::Database writer(path.string(), batched());
  writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)");
  std::int64_t rows = 0, bytes = 0;
  // One small row; then ~400 KiB in one commit, more than is gathered before a write.
  for (auto [n, size] : {std::pair{1, 100}, std::pair{100, 4000}, std::pair{3, 10}}) {
    commit_rows(writer, n, size);
    rows += n;
    bytes += std::int64_t{n} * size;
    // The files as a power loss would leave them now (the shared-memory index is rebuilt).
    const auto copy = dir.path() / ("copy" + std::to_string(rows));
    std::filesystem::create_directories(copy);
    std::filesystem::copy_file(path, copy / "w.db");
    std::filesystem::copy_file(path.string() + "-wal", copy / "w.db-wal");
    store::Database recovered((copy / "w.db").string(), store::OpenOptions{});
    CHECK(contents(recovered) == std::pair{rows, bytes});
  }
}

TEST_CASE("batched log: another connection reads every commit at once") {
  test::TempDir dir;
  const auto path = (dir.path() / "r.db").string();
  store::Database writer(path, batched());
  writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)");
  store::Database reader(path, store::OpenOptions{});
  std::int64_t rows = 0, bytes = 0;
  for (int i = 0; i < 30; ++i) {
    const int n = 1 + (i * 7) % 40, size = 200 + (i * 997) % 5000;
    commit_rows(writer, n, size);
    rows += n;
    bytes += std::int64_t{n} * size;
    REQUIRE(contents(reader) == std::pair{rows, bytes});
  }
  // A rolled-back transaction leaves nothing for either connection.
  {
    store::Transaction txn(writer);
    writer.exec("INSERT INTO t (payload) VALUES ('dropped')");
  }
  CHECK(contents(reader) == std::pair{rows, bytes});
  CHECK(contents(writer) == std::pair{rows, bytes});
}

TEST_CASE("batched log writes refuse synchronous = NORMAL") {
  test::TempDir dir;
  const auto path = (dir.path() / "n.db").string();
  auto options = batched();
  options.synchronous = store::Synchronous::normal;
  CHECK_THROWS_WITH(store::Database(path, options),
                    Catch::Contains("batched log writes need synchronous = FULL"));
  store::Database db(path, batched());
  CHECK_THROWS_WITH(db.set_synchronous(store::Synchronous::normal),
                    Catch::Contains("batched log writes need synchronous = FULL"));
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)");  // still usable
  commit_rows(db, 2, 10);
  CHECK(contents(db) == std::pair<std::int64_t, std::int64_t>{2, 20});
}
