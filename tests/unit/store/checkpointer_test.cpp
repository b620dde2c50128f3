#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "store/checkpointer.hpp"
#include "store/database.hpp"
#include "test_support.hpp"

using namespace markerwatch;

TEST_CASE("the checkpointer copies committed WAL frames into the database file") {
  test::TempDir dir;
  const auto path = (dir.path() / "c.db").string();
  store::OpenOptions options;
  options.wal_autocheckpoint = 0;  // only the checkpointer copies frames back
  store::Database db(path, options);
  db.exec("CREATE TABLE t (x TEXT)");
  {
    store::Transaction txn(db);
    auto insert = db.prepare("INSERT INTO t VALUES (?)");
    const std::string payload(1000, 'x');
    for (int i = 0; i < 500; ++i) insert.bind(1, payload).run();
    txn.commit();
  }
  const auto size_before = std::filesystem::file_size(path);
  store::Checkpointer checkpointer(path, std::chrono::milliseconds(5));
  checkpointer.start();
  // Waits for the outcome, not for a time: the test fails by its timeout if nothing is copied.
  while (checkpointer.frames_copied() == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  checkpointer.stop();
  CHECK(checkpointer.frames_copied() > 100);  // ~500 KB of rows in 4 KiB pages
  CHECK(std::filesystem::file_size(path) > size_before + 400 * 1000);
  // The data is intact and the writer carries on.
  auto count = db.prepare("SELECT count(*) FROM t");
  REQUIRE(count.step());
  CHECK(count.int64(0) == 500);
  db.exec("INSERT INTO t VALUES ('after')");
}

TEST_CASE("the checkpointer stops promptly, and gives up on a database it cannot open") {
  test::TempDir dir;
  const auto not_a_folder = dir.path() / "file";
  std::ofstream(not_a_folder) << "x";
  store::Checkpointer unopenable((not_a_folder / "x.db").string(), std::chrono::milliseconds(1));
  unopenable.start();
  unopenable.stop();
  CHECK(unopenable.frames_copied() == 0);
  store::Checkpointer checkpointer((dir.path() / "idle.db").string(), std::chrono::hours(1));
  checkpointer.start();
  checkpointer.stop();  // an hour-long wait must not hold up the stop
  CHECK(checkpointer.frames_copied() == 0);
}
