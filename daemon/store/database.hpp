#pragma once
// RAII over sqlite3: a connection and prepared statements that are bound, stepped and reset.
// The only place in markerwatch that includes sqlite3.h.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/errors.hpp"
#include "store/backoff.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace markerwatch::store {

class StoreError : public Error {
 public:
  using Error::Error;
};

// Text and blob parameters are bound without a copy: the bound data must stay alive until the
// statement has been stepped (bind and run in one expression, or from variables that outlive it).
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) noexcept = default;

  Statement& bind(int index, std::int64_t v);
  Statement& bind(int index, int v) { return bind(index, static_cast<std::int64_t>(v)); }
  Statement& bind(int index, double v);
  Statement& bind(int index, std::string_view v);
  Statement& bind(int index, const char* v) { return bind(index, std::string_view(v)); }
  Statement& bind(int index, const std::string& v) { return bind(index, std::string_view(v)); }
  Statement& bind(int index, std::optional<double> v);
  Statement& bind_null(int index);
  Statement& bind_blob(int index, std::string_view bytes);

  // True while a row is available.
  bool step();
  // Runs a statement that returns no rows, then resets it.
  void run();
  void reset();

  std::int64_t int64(int col) const;
  double real(int col) const;
  std::optional<double> optional_real(int col) const;
  std::string text(int col) const;
  // The column's text without a copy: valid until the next step() or reset().
  std::string_view text_view(int col) const;
  bool is_null(int col) const;

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const;
  };
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  sqlite3* db_;
};

enum class Synchronous { full, normal };

struct OpenOptions {
  bool read_only = false;
  // Checkpoints run from the committing connection every N WAL pages; 0 = never (for
  // connections that do not write). While they fail, the tries back off
  // (kAutoCheckpointFirstBackoff).
  int wal_autocheckpoint = 1000;
  Synchronous synchronous = Synchronous::full;
  int busy_timeout_ms = 5000;
  // The write-ahead log gets a transaction's frames in few writes (store/batched_log_vfs.hpp):
  // for connections that write much.
  bool batched_log_writes = false;
};

// A connection that only reads: SQLITE_OPEN_READONLY, never creates, upgrades or checkpoints.
inline OpenOptions read_only_options() {
  return OpenOptions{.read_only = true};
}

class Database {
 public:
  // Creates the file with mode 0600 when missing (and its folder), then enables WAL, foreign keys
  // and the busy timeout.
  Database(const std::string& path, const OpenOptions& options);

  void exec(std::string_view sql);
  // Outside a transaction only (SQLite refuses otherwise).
  void set_synchronous(Synchronous level);
  // Forces the write-ahead log to disk, as a commit at synchronous = FULL does: every transaction
  // committed before, also those committed at NORMAL, then survives a power loss.
  void sync_log();
  // Runs a statement prepared once per connection (for hot paths such as savepoints).
  void run_cached(std::string_view sql);
  Statement prepare(std::string_view sql) { return Statement(db_.get(), sql); }
  std::int64_t last_insert_id() const;
  int changes() const;
  const std::string& path() const { return path_; }

  // For a cache of one table's rows (store/series_cache.hpp): watched_changes() moves with every
  // row this connection inserts, updates or deletes in `table` (SQLite's update hook), with every
  // rollback through Transaction or Savepoint, and with every commit of another connection that a
  // Transaction notices as it begins (PRAGMA data_version). What was read at one count is still
  // what the table holds while the count stays there. One table per connection.
  void watch_table(const std::string& table);
  std::uint64_t watched_changes() const { return watch_ ? watch_->changes : 0; }
  // How many of this connection's automatic checkpoints failed (OpenOptions::wal_autocheckpoint).
  std::uint64_t failed_auto_checkpoints() const {
    return auto_checkpoint_ ? auto_checkpoint_->failures : 0;
  }
  // Whether a Transaction is open on this connection (a Savepoint alone does not count).
  bool in_transaction() const { return open_transactions_ > 0; }

  // While statements of this connection run, calls `tick` once `every` has passed since the last
  // call (or since this one), from SQLite's progress handler: for a caller that must tell someone
  // it is still alive during a long statement. An empty `tick` removes it.
  void on_progress(std::function<void()> tick, std::chrono::milliseconds every);

 private:
  friend class Transaction;
  friend class Savepoint;
  Statement& cached(std::string_view sql);
  void rolled_back();
  // A Transaction began: counts the commits of other connections since the last one.
  void began();

  struct Closer {
    void operator()(sqlite3* db) const;
  };
  // On the heap: SQLite's update hook holds its address, which must survive a move.
  struct Watch {
    std::string table;
    std::uint64_t changes = 0;
    std::optional<std::int64_t> data_version;
  };
  std::unique_ptr<sqlite3, Closer> db_;
  std::string path_;
  std::vector<std::pair<std::string, Statement>> cached_;
  std::unique_ptr<Watch> watch_;
  // On the heap: SQLite's progress handler holds its address.
  struct Progress {
    std::function<void()> tick;
    std::chrono::steady_clock::duration every;
    std::chrono::steady_clock::time_point last;
  };
  std::unique_ptr<Progress> progress_;
  // SQLite's automatic checkpoint, but one that backs off while checkpoints fail: each failed
  // try copied the whole log again, after every commit (on a disk whose syncs of the database
  // file fail, the writer's CPU per message rose from ~50 to ~600 µs). On the heap: SQLite's WAL
  // hook holds its address.
  struct AutoCheckpoint {
    int pages;
    Backoff tries;
    std::chrono::steady_clock::time_point next_try{};  // none before the first failure
    std::uint64_t failures = 0;
  };
  static int committed_to_log(void* auto_checkpoint, sqlite3* db, const char* schema, int pages);
  std::unique_ptr<AutoCheckpoint> auto_checkpoint_;
  int open_transactions_ = 0;
};

// The automatic checkpoint's first wait after a failure, and its longest.
inline constexpr std::chrono::milliseconds kAutoCheckpointFirstBackoff{100};
inline constexpr std::chrono::seconds kAutoCheckpointLongestBackoff{5};

// BEGIN IMMEDIATE ... COMMIT, rolled back when destroyed without commit().
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  void commit();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 private:
  Database& db_;
  bool done_ = false;
};

// A savepoint inside a transaction: one message's work that can fail alone.
class Savepoint {
 public:
  explicit Savepoint(Database& db);
  ~Savepoint();
  void release();
  Savepoint(const Savepoint&) = delete;
  Savepoint& operator=(const Savepoint&) = delete;

 private:
  Database& db_;
  bool done_ = false;
};

// A write another part of the daemon hands to the thread that owns the writing connection (the
// store writer): it runs there with that connection inside its transaction, and `WriteDone` gets
// the outcome once the transaction ended: no failure when it committed, else why not.
using Write = std::function<void(Database&)>;
using WriteDone = std::function<void(std::optional<std::string> failure)>;

}  // namespace markerwatch::store
