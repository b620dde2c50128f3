#include <sqlite3.h>
#include <catch2/catch.hpp>

#include "store/database.hpp"
#include "store/migrations.hpp"
#include "test_support.hpp"

using namespace markerwatch;
using namespace markerwatch::store;

namespace {

// The default VFS, wrapped to count the syncs that reach the write-ahead log: what a power loss
// would find is what was synced, so the count is the durability the code under test promises.
class CountingVfs {
 public:
  CountingVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.zName = "markerwatch-counting";
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.xOpen = &open;
    instance_ = this;
    sqlite3_vfs_register(&vfs_, 1);
  }
  ~CountingVfs() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(real_, 1);
    instance_ = nullptr;
  }
  CountingVfs(const CountingVfs&) = delete;
  CountingVfs& operator=(const CountingVfs&) = delete;

  int log_syncs = 0;

 private:
  struct File {
    sqlite3_file base;
    sqlite3_file* real;
    bool is_log;
  };
  static sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }

  static int open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
    auto* f = reinterpret_cast<File*>(file);
    f->real = reinterpret_cast<sqlite3_file*>(f + 1);
    f->is_log = (flags & SQLITE_OPEN_WAL) != 0;
    f->base.pMethods = nullptr;
    const int rc = instance_->real_->xOpen(instance_->real_, name, f->real, flags, out_flags);
    if (rc == SQLITE_OK && f->real->pMethods) f->base.pMethods = &kMethods;
    return rc;
  }
  static int close(sqlite3_file* f) {
    const int rc = real(f)->pMethods->xClose(real(f));
    f->pMethods = nullptr;
    return rc;
  }
  static int sync(sqlite3_file* f, int flags) {
    if (reinterpret_cast<File*>(f)->is_log) ++instance_->log_syncs;
    return real(f)->pMethods->xSync(real(f), flags);
  }
  // Everything else goes to the real file unchanged.
  template <auto Member, typename... Args>
  static int forward(sqlite3_file* f, Args... args) {
    return (real(f)->pMethods->*Member)(real(f), args...);
  }
  static void shm_barrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
  static constexpr sqlite3_io_methods kMethods = {
      3,
      &close,
      &forward<&sqlite3_io_methods::xRead, void*, int, sqlite3_int64>,
      &forward<&sqlite3_io_methods::xWrite, const void*, int, sqlite3_int64>,
      &forward<&sqlite3_io_methods::xTruncate, sqlite3_int64>,
      &sync,
      &forward<&sqlite3_io_methods::xFileSize, sqlite3_int64*>,
      &forward<&sqlite3_io_methods::xLock, int>,
      &forward<&sqlite3_io_methods::xUnlock, int>,
      &forward<&sqlite3_io_methods::xCheckReservedLock, int*>,
      &forward<&sqlite3_io_methods::xFileControl, int, void*>,
      &forward<&sqlite3_io_methods::xSectorSize>,
      &forward<&sqlite3_io_methods::xDeviceCharacteristics>,
      &forward<&sqlite3_io_methods::xShmMap, int, int, int, void volatile**>,
      &forward<&sqlite3_io_methods::xShmLock, int, int, int>,
      &shm_barrier,
      &forward<&sqlite3_io_methods::xShmUnmap, int>,
      &forward<&sqlite3_io_methods::xFetch, sqlite3_int64, int, void**>,
      &forward<&sqlite3_io_methods::xUnfetch, sqlite3_int64, void*>,
  };

  static inline CountingVfs* instance_ = nullptr;
  sqlite3_vfs* real_;
  sqlite3_vfs vfs_;
};

void add_patient(Database& db, const std::string& id) {
  Transaction txn(db);
  db.prepare("INSERT INTO patients (identifier, authority, created_at) VALUES (?, '', 't')")
      .bind(1, id)
      .run();
  txn.commit();
}

}  // namespace

TEST_CASE("commits at synchronous = normal reach the disk when the log is synced") {
  // The first Database configures SQLite, which must happen before the VFS lookup initialises it.
  Database first(":memory:", {});
  CountingVfs vfs;
  test::TempDir dir;
  Database db((dir.path() / "mw.db").string(), {});
  migrate(db);
  vfs.log_syncs = 0;

  add_patient(db, "p1");
  CHECK(vfs.log_syncs == 1);  // synchronous = full: every commit syncs the log

  db.set_synchronous(Synchronous::normal);
  auto level = db.prepare("PRAGMA synchronous");
  REQUIRE(level.step());
  CHECK(level.int64(0) == 1);
  level.reset();
  add_patient(db, "p2");
  add_patient(db, "p3");
  CHECK(vfs.log_syncs == 1);  // committed, not yet durable against a power loss

  db.sync_log();
  CHECK(vfs.log_syncs == 2);  // one sync covers both

  {
    Transaction txn(db);
    CHECK_THROWS_WITH(db.set_synchronous(Synchronous::full),
                      Catch::Contains("may not be changed inside a transaction"));
  }
  db.set_synchronous(Synchronous::full);
  add_patient(db, "p4");
  CHECK(vfs.log_syncs == 3);
  auto count = db.prepare("SELECT count(*) FROM patients");
  REQUIRE(count.step());
  CHECK(count.int64(0) == 4);
}

TEST_CASE("syncing the log of a database without one does nothing") {
  Database memory(":memory:", {});
  CHECK_NOTHROW(memory.sync_log());
}
