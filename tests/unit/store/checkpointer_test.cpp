#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/checkpointer.hpp"
#include "store/database.hpp"
#include "test_support.hpp"

using namespace markerwatch;

namespace {

// What the checkpointer reports, gathered from its thread.
struct Report {
  store::Checkpointer::Event what;
  std::string error;
  std::uint64_t failures;
};

class Reports {
 public:
  store::Checkpointer::Reporter reporter() {
    return [this](store::Checkpointer::Event what, std::string_view error, std::uint64_t failures) {
      std::lock_guard lock(mutex_);
      reports_.push_back({what, std::string(error), failures});
    };
  }
  std::vector<Report> all() const {
    std::lock_guard lock(mutex_);
    return reports_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Report> reports_;
};

// A full disk, as far as a write can tell: no file of this process may grow past the database
// file's present size (RLIMIT_FSIZE), until lifted.
class DiskFull {
 public:
  explicit DiskFull(const std::string& database) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved_) == 0);
    std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG instead
    rlimit capped = saved_;
    capped.rlim_cur = static_cast<rlim_t>(std::filesystem::file_size(database));
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &capped) == 0);
  }
  ~DiskFull() { lift(); }
  DiskFull(const DiskFull&) = delete;
  DiskFull& operator=(const DiskFull&) = delete;
  void lift() { ::setrlimit(RLIMIT_FSIZE, &saved_); }

 private:
  rlimit saved_{};
};

void insert_rows(store::Database& db, int n) {
  store::Transaction txn(db);
  auto insert = db.prepare("INSERT INTO t VALUES (?)");
  const std::string payload(1000, 'x');
  for (int i = 0; i < n; ++i) insert.bind(1, payload).run();
  txn.commit();
}

// SQLite's checkpoint lock, held as a checkpoint in another process would hold it: byte 121 of
// the shared-memory index (120 + WAL_CKPT_LOCK). An open-file-description lock conflicts with
// SQLite's own fcntl locks in this process too. Waits for a checkpoint in progress to end.
class CheckpointLock {
 public:
  explicit CheckpointLock(const std::string& database)
      : fd_(::open((database + "-shm").c_str(), O_RDWR)) {
    REQUIRE(fd_ >= 0);
    REQUIRE(lock(F_WRLCK) == 0);
  }
  ~CheckpointLock() { release(); }
  CheckpointLock(const CheckpointLock&) = delete;
  CheckpointLock& operator=(const CheckpointLock&) = delete;
  void release() {
    if (fd_ < 0) return;
    lock(F_UNLCK);
    ::close(fd_);
    fd_ = -1;
  }

 private:
  int lock(short type) {
    struct flock byte {};
    byte.l_type = type;
    byte.l_whence = SEEK_SET;
    byte.l_start = 121;
    byte.l_len = 1;
    return ::fcntl(fd_, F_OFD_SETLKW, &byte);
  }
  int fd_;
};

// A database whose WAL holds `rows` rows of ~1 KB in table t, which only a checkpointer copies
// back into the database file.
struct LoggedDatabase {
  explicit LoggedDatabase(int rows) : path((dir.path() / "t.db").string()), db(path, options()) {
    db.exec("CREATE TABLE t (x TEXT)");
    insert_rows(db, rows);
  }
  static store::OpenOptions options() {
    store::OpenOptions o;
    o.wal_autocheckpoint = 0;
    return o;
  }
  test::TempDir dir;
  std::string path;
  store::Database db;
};

template <typename Condition>
void wait_for(Condition done) {  // the test's timeout fails it if `done` never comes
  while (!done()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

// 2,000 rows (~2 MB) copied back by a checkpointer that reports each run of failures once, then
// 100 more on a full disk: the checkpoints of those fail, and one failure has been reported. A run
// of failures ends with the first checkpoint of the whole log after `quiet` without failures.
struct FailingCheckpoints {
  explicit FailingCheckpoints(std::chrono::milliseconds quiet = std::chrono::milliseconds(0))
      : checkpointer(logged.path, std::chrono::milliseconds(5), reports.reporter(),
                     std::chrono::hours(1), quiet) {
    checkpointer.start();
    wait_for([&] { return checkpointer.frames_copied() >= 400; });
    // The next rows go to the start of the WAL (reset, as every frame was copied back), but every
    // checkpoint fails to write them past the database file's end.
    full.emplace(logged.path);
    insert_rows(logged.db, 100);
    wait_for([&] { return !reports.all().empty(); });
  }
  // Waits for the report that ends the run of failures, and stops the checkpointer.
  Report recovery() {
    wait_for([&] { return reports.all().size() >= 2; });
    checkpointer.stop();
    const auto all = reports.all();
    REQUIRE(all.size() == 2);
    CHECK(all[1].what == store::Checkpointer::Event::checkpoint_recovered);
    return all[1];
  }
  LoggedDatabase logged{2000};
  Reports reports;
  store::Checkpointer checkpointer;
  std::optional<DiskFull> full;
};

struct FailingCheckpointsQuietForASecond : FailingCheckpoints {
  FailingCheckpointsQuietForASecond() : FailingCheckpoints(std::chrono::seconds(1)) {}
};

}  // namespace

TEST_CASE("the checkpointer copies committed WAL frames into the database file") {
  LoggedDatabase logged(500);
  const auto size_before = std::filesystem::file_size(logged.path);
  store::Checkpointer checkpointer(logged.path, std::chrono::milliseconds(5));
  checkpointer.start();
  // Waits for the outcome, not for a time: the test fails by its timeout if nothing is copied.
  wait_for([&] { return checkpointer.frames_copied() > 0; });
  checkpointer.stop();
  CHECK(checkpointer.frames_copied() > 100);  // ~500 KB of rows in 4 KiB pages
  CHECK(std::filesystem::file_size(logged.path) > size_before + 400 * 1000);
  // The data is intact and the writer carries on.
  auto count = logged.db.prepare("SELECT count(*) FROM t");
  REQUIRE(count.step());
  CHECK(count.int64(0) == 500);
  logged.db.exec("INSERT INTO t VALUES ('after')");
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

TEST_CASE_METHOD(FailingCheckpoints,
                 "the checkpointer reports a run of failures once, then its end") {
  // Every 5 ms, 60 more tries; backing off (10, 20, 40, 80, 160 ms), five.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto during = reports.all();
  full->lift();
  REQUIRE(during.size() == 1);  // one report for the whole run, not one per try
  CHECK(during[0].what == store::Checkpointer::Event::checkpoint_failed);
  CHECK(during[0].failures == 1);
  CHECK_FALSE(during[0].error.empty());

  const auto recovered = recovery();
  // Every failed try is counted: the first, and those of the back-off until the disk had room.
  CHECK(recovered.failures >= 2);
  CHECK(recovered.failures <= 8);
  CHECK(checkpointer.failures() == recovered.failures);  // the total, for /metrics
  auto count = logged.db.prepare("SELECT count(*) FROM t");
  REQUIRE(count.step());
  CHECK(count.int64(0) == 2100);
}

TEST_CASE("a checkpoint another connection holds busy copies nothing and reports nothing") {
  LoggedDatabase logged(500);
  CheckpointLock held(logged.path);
  Reports reports;
  store::Checkpointer checkpointer(logged.path, std::chrono::milliseconds(5), reports.reporter());
  checkpointer.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // ~20 tries, each busy
  CHECK(checkpointer.frames_copied() == 0);  // not the -1 SQLite answers for "busy"
  CHECK(reports.all().empty());              // neither a failure nor a recovery
  held.release();
  wait_for([&] { return checkpointer.frames_copied() > 100; });
  checkpointer.stop();
  CHECK(reports.all().empty());
}

TEST_CASE_METHOD(FailingCheckpoints,
                 "after failures, only a checkpoint of the whole log counts as recovered") {
  // A reader keeps its snapshot: once the disk has room again, checkpoints may copy the log only
  // up to that snapshot, not the rows written after it. Such a checkpoint succeeds, but it has
  // not synced the database file.
  store::Database reader(logged.path, LoggedDatabase::options());
  reader.exec("BEGIN");
  auto count = reader.prepare("SELECT count(*) FROM t");
  REQUIRE(count.step());
  CHECK(count.int64(0) == 2100);
  count.reset();
  // Written while no checkpoint runs: one that began before these rows would not see them, and
  // would take the log as wholly copied.
  CheckpointLock between(logged.path);
  insert_rows(logged.db, 10);
  const auto before = checkpointer.frames_copied();
  full->lift();
  between.release();
  wait_for([&] { return checkpointer.frames_copied() != before; });  // part of the log copied
  const auto partly = reports.all();
  REQUIRE(partly.size() == 1);
  CHECK(partly[0].what == store::Checkpointer::Event::checkpoint_failed);

  reader.exec("COMMIT");
  CHECK(recovery().failures >= 1);
}

TEST_CASE_METHOD(FailingCheckpointsQuietForASecond,
                 "a run of failures ends only once checkpoints have not failed for a while") {
  // On a disk whose syncs fail, a checkpoint that a commit overtook reports success without
  // having synced, between failures of the others.
  const auto lifted = std::chrono::steady_clock::now();
  full->lift();
  recovery();
  const auto waited = std::chrono::steady_clock::now() - lifted;
  // Without the quiet second: at the first try after the lift (10 ms later here).
  CHECK(waited >= std::chrono::milliseconds(900));
}

TEST_CASE("a connection's automatic checkpoint backs off while it fails") {
  test::TempDir dir;
  const auto path = (dir.path() / "a.db").string();
  store::OpenOptions options;
  options.wal_autocheckpoint = 20;
  store::Database db(path, options);
  db.exec("CREATE TABLE t (x TEXT)");
  insert_rows(db, 2000);  // checkpointed after its commit
  REQUIRE(db.failed_auto_checkpoints() == 0);

  DiskFull full(path);  // the checkpoints of the rows below fail, past the database file's end
  auto insert = db.prepare("INSERT INTO t VALUES (?)");
  const std::string payload(1000, 'x');
  // 50 commits of a page or two each: from the log's 20th page on, each ends with a checkpoint.
  for (int i = 0; i < 50; ++i) insert.bind(1, payload).run();
  const auto failed = db.failed_auto_checkpoints();
  CHECK(failed >= 1);
  // Tries after 100, 200, 400 ms...: SQLite's own checkpoint tries after each commit (38 here).
  CHECK(failed <= 5);
  full.lift();
  auto count = db.prepare("SELECT count(*) FROM t");
  REQUIRE(count.step());
  CHECK(count.int64(0) == 2050);
}
