#include "store/checkpointer.hpp"

#include <pthread.h>
#include <optional>

#include "store/database.hpp"

namespace markerwatch::store {

Checkpointer::Checkpointer(std::string path, std::chrono::milliseconds interval,
                           ErrorHandler on_error)
    : path_(std::move(path)), interval_(interval), on_error_(std::move(on_error)) {}

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

void Checkpointer::run(std::stop_token stop) {
  std::optional<Database> db;
  try {
    OpenOptions options;
    options.wal_autocheckpoint = 0;  // this connection never writes
    db.emplace(path_, options);
  } catch (const std::exception& e) {
    if (on_error_) on_error_(Failure::open, e.what());
    return;
  }
  auto checkpoint = db->prepare("PRAGMA wal_checkpoint(PASSIVE)");
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, stop, interval_, [] { return false; })) break;
      if (stop.stop_requested()) break;
    }
    try {
      // Columns: busy, frames in the WAL, frames copied back so far.
      if (checkpoint.step()) {
        std::lock_guard lock(mutex_);
        frames_copied_ = static_cast<std::uint64_t>(checkpoint.int64(2));
      }
      checkpoint.reset();
    } catch (const std::exception& e) {
      // A busy database or a full disk: the writer's own checkpoint still runs.
      checkpoint.reset();
      if (on_error_) on_error_(Failure::checkpoint, e.what());
    }
  }
}

}  // namespace markerwatch::store
