#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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

TEST_CASE("the checkpointer reports a run of failures once, then its end") {
  test::TempDir dir;
  const auto path = (dir.path() / "f.db").string();
  store::OpenOptions options;
  options.wal_autocheckpoint = 0;
  store::Database db(path, options);
  const auto insert_rows = [&db](int n) {
    store::Transaction txn(db);
    auto insert = db.prepare("INSERT INTO t VALUES (?)");
    const std::string payload(1000, 'x');
    for (int i = 0; i < n; ++i) insert.bind(1, payload).run();
    txn.commit();
  };
  db.exec("CREATE TABLE t (x TEXT)");
  insert_rows(2000);  // ~2 MB
  struct Report {
    store::Checkpointer::Event what;
    std::string error;
    std::uint64_t failures;
  };
  std::mutex mutex;
  std::vector<Report> reports;
  const auto reported = [&] {
    std::lock_guard lock(mutex);
    return reports;
  };
  store::Checkpointer checkpointer(
      path, std::chrono::milliseconds(5),
      [&](store::Checkpointer::Event what, std::string_view error, std::uint64_t failures) {
        std::lock_guard lock(mutex);
        reports.push_back({what, std::string(error), failures});
      },
      std::chrono::hours(1));
  checkpointer.start();
  while (checkpointer.frames_copied() < 400)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));

  // The database file may not grow any more (a full disk, as far as a write can tell): the next
  // rows go to the start of the WAL (reset, as every frame was copied back), but every checkpoint
  // fails to write them past the file's end.
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG instead
  rlimit capped = saved;
  capped.rlim_cur = static_cast<rlim_t>(std::filesystem::file_size(path));
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &capped) == 0);
  insert_rows(100);
  while (reported().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // ~60 more tries at 5 ms
  const auto during = reported();
  ::setrlimit(RLIMIT_FSIZE, &saved);
  REQUIRE(during.size() == 1);  // one report for the whole run, not one per try
  CHECK(during[0].what == store::Checkpointer::Event::checkpoint_failed);
  CHECK(during[0].failures == 1);
  CHECK_FALSE(during[0].error.empty());

  while (reported().size() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  checkpointer.stop();
  const auto after = reported();
  REQUIRE(after.size() == 2);
  CHECK(after[1].what == store::Checkpointer::Event::checkpoint_recovered);
  CHECK(after[1].failures > 10);  // every failed try is counted
  auto count = db.prepare("SELECT count(*) FROM t");
  REQUIRE(count.step());
  CHECK(count.int64(0) == 2100);
}
