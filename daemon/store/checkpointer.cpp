#include "store/checkpointer.hpp"

#include <pthread.h>

#include <optional>

#include "store/backoff.hpp"
#include "store/database.hpp"

namespace markerwatch::store {

Checkpointer::Checkpointer(std::string path, std::chrono::milliseconds interval, Reporter report,
                           std::chrono::milliseconds report_every, std::chrono::milliseconds quiet)
    : path_(std::move(path)),
      interval_(interval),
      report_(std::move(report)),
      report_every_(report_every),
      quiet_(quiet) {}

Checkpointer::~Checkpointer() {
  stop();
}

void Checkpointer::start() {
  thread_ = std::jthread([this](std::stop_token stop) {
    pthread_setname_np(pthread_self(), "mw-checkpoint");
    run(stop);
  });
}

void Checkpointer::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  wake_.notify_all();
  thread_.join();
}

std::uint64_t Checkpointer::frames_copied() const {
  std::lock_guard lock(mutex_);
  return frames_copied_;
}

std::uint64_t Checkpointer::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

void Checkpointer::run(std::stop_token stop) {
  const auto report = [this](Event what, std::string_view error, std::uint64_t failures) {
    if (report_) report_(what, error, failures);
  };
  std::optional<Database> db;
  try {
    OpenOptions options;
    options.wal_autocheckpoint = 0;  // this connection never writes
    db.emplace(path_, options);
  } catch (const std::exception& e) {
    report(Event::open_failed, e.what(), 1);
    return;
  }
  auto checkpoint = db->prepare("PRAGMA wal_checkpoint(PASSIVE)");
  std::uint64_t failures_in_run = 0, unreported = 0;
  std::chrono::steady_clock::time_point reported, last_failure;
  // A failed checkpoint advanced nothing, so the next try copies the whole log again (hundreds of
  // megabytes once it has grown): while they fail, the tries back off.
  Backoff waits(interval_, 2 * interval_, kLongestBackoff);
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, stop, waits.wait(), [] { return false; })) break;
      if (stop.stop_requested()) break;
    }
    try {
      // Columns: busy, frames in the WAL, frames copied back so far (-1 when busy).
      const bool done = checkpoint.step();
      const bool busy = done && checkpoint.int64(0) != 0;
      const auto frames = done ? checkpoint.int64(1) : 0, copied = done ? checkpoint.int64(2) : 0;
      checkpoint.reset();
      if (busy) continue;  // the writer's own checkpoint runs: nothing was tried here
      {
        std::lock_guard lock(mutex_);
        frames_copied_ = static_cast<std::uint64_t>(copied);
      }
      // SQLite syncs the database file only once a checkpoint has copied the whole log back: one
      // that copied part of it (a reader's snapshot keeps the rest) has not synced, proves the
      // disk well again no more than a busy one, and the run of failures goes on.
      if (copied < frames) continue;
      waits.succeeded();
      // A commit during the copy keeps the sync from a checkpoint that still reports the log
      // copied as it was when it began (under a steady load on a disk whose syncs fail, every few
      // seconds: bench/README.md): a run of failures ends once none has failed for `quiet_`.
      if (failures_in_run > 0 && std::chrono::steady_clock::now() - last_failure >= quiet_) {
        report(Event::checkpoint_recovered, {}, failures_in_run);
        failures_in_run = unreported = 0;
      }
    } catch (const std::exception& e) {
      // A busy database or a full disk: the writer's own checkpoint still runs.
      checkpoint.reset();
      {
        std::lock_guard lock(mutex_);
        ++failures_;
      }
      ++failures_in_run;
      ++unreported;
      waits.failed();
      const auto now = std::chrono::steady_clock::now();
      last_failure = now;
      if (failures_in_run == 1 || now - reported >= report_every_) {
        report(Event::checkpoint_failed, e.what(), unreported);
        unreported = 0;
        reported = now;
      }
    }
  }
}

}  // namespace markerwatch::store
