// The batched-log VFS (store/batched_log_vfs.hpp) may only delay the log's writes within a
// transaction: once SQLite has committed, another connection, and a process restarted after a
// crash, must find every committed frame in the file, at synchronous = FULL and NORMAL.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "store/database.hpp"
#include "test_support.hpp"

using namespace markerwatch;

namespace {
store::OpenOptions batched(store::Synchronous synchronous) {
  store::OpenOptions options;
  options.batched_log_writes = true;
  options.synchronous = synchronous;
  options.wal_autocheckpoint = 0;  // the frames stay in the log, where the test looks for them
  return options;
}

using Contents = std::pair<std::int64_t, std::int64_t>;

// Rows and payload bytes of table t, as a connection of its own reads them.
Contents contents(store::Database& db) {
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

// The files as a crash would leave them now (the shared-memory index is rebuilt on open).
Contents contents_after_crash(const std::filesystem::path& db, const std::filesystem::path& copy) {
  std::filesystem::create_directories(copy);
  std::filesystem::copy_file(db, copy / "c.db");
  std::filesystem::copy_file(db.string() + "-wal", copy / "c.db-wal");
  store::Database recovered((copy / "c.db").string(), store::OpenOptions{});
  return contents(recovered);
}

const char* name(store::Synchronous s) {
  return s == store::Synchronous::full ? "FULL" : "NORMAL";
}
}  // namespace

TEST_CASE("batched log: what a crash right after each commit leaves holds that commit") {
  for (auto sync : {store::Synchronous::full, store::Synchronous::normal}) {
    CAPTURE(name(sync));
    test::TempDir dir;
    const auto path = dir.path() / "w.db";
    store::Database writer(path.string(), batched(sync));
    writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)");
    Contents expected{0, 0};
    // One small row; then ~400 KiB in one commit, more than is gathered before a write.
    for (auto [n, size] : {std::pair{1, 100}, std::pair{100, 4000}, std::pair{3, 10}}) {
      commit_rows(writer, n, size);
      expected.first += n;
      expected.second += std::int64_t{n} * size;
      CHECK(contents_after_crash(path, dir.path() / ("copy" + std::to_string(expected.first))) ==
            expected);
    }
  }
}

TEST_CASE("batched log: another connection reads every commit at once") {
  for (auto sync : {store::Synchronous::full, store::Synchronous::normal}) {
    CAPTURE(name(sync));
    test::TempDir dir;
    const auto path = (dir.path() / "r.db").string();
    store::Database writer(path, batched(sync));
    writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)");
    store::Database reader(path, store::OpenOptions{});
    Contents expected{0, 0};
    for (int i = 0; i < 30; ++i) {
      const int n = 1 + (i * 7) % 40, size = 200 + (i * 997) % 5000;
      commit_rows(writer, n, size);
      expected.first += n;
      expected.second += std::int64_t{n} * size;
      REQUIRE(contents(reader) == expected);
    }
    // A rolled-back transaction leaves nothing for either connection.
    {
      store::Transaction txn(writer);
      writer.exec("INSERT INTO t (payload) VALUES ('dropped')");
    }
    CHECK(contents(reader) == expected);
    CHECK(contents(writer) == expected);
  }
}

TEST_CASE("batched log: a transaction larger than the page cache, whose frames SQLite rewrites") {
  // With a cache of a few pages, SQLite writes pages to the log before the commit and rewrites
  // frames it already wrote when those pages change again (wal.c, walRewriteChecksums): writes
  // out of the usual order, which the VFS must pass on as they come.
  for (auto sync : {store::Synchronous::full, store::Synchronous::normal}) {
    CAPTURE(name(sync));
    test::TempDir dir;
    const auto path = dir.path() / "s.db";
    store::Database writer(path.string(), batched(sync));
    writer.exec("PRAGMA cache_size = 10");
    writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)");
    store::Database reader(path.string(), store::OpenOptions{});
    commit_rows(writer, 50, 100);
    {
      store::Transaction txn(writer);
      auto insert = writer.prepare("INSERT INTO t (payload) VALUES (?)");
      const std::string payload(700, 'q');
      for (int i = 0; i < 2000; ++i) insert.bind_blob(1, payload).run();
      writer.exec("UPDATE t SET payload = substr(payload, 1, 300) WHERE id % 2 = 0");
      writer.exec("UPDATE t SET payload = payload || 'x' WHERE id % 3 = 0");
      txn.commit();
    }
    const auto expected = contents(writer);
    CHECK(expected.first == 2050);
    CHECK(contents(reader) == expected);
    CHECK(contents_after_crash(path, dir.path() / "copy") == expected);
    commit_rows(writer, 5, 50);  // the writer carries on after it
    CHECK(contents(reader) == Contents{expected.first + 5, expected.second + 250});
  }
}
