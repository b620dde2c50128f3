#include "store/checkpointer.hpp"

#include <pthread.h>

namespace markerwatch::store {

Checkpointer::Checkpointer(std::string path, OpenOptions options,
                           std::chrono::milliseconds interval)
    : path_(std::move(path)), options_(options), interval_(interval) {}

Checkpointer::~Checkpointer() {
  stop();
}

void Checkpointer::start() {
  db_ = std::make_unique<Database>(path_, options_);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "mw-checkpoint");
    run();
  });
}

void Checkpointer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t Checkpointer::checkpoints() const {
  std::lock_guard lock(mutex_);
  return checkpoints_;
}

void Checkpointer::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval_, [&] { return stopping_; });
    const bool last = stopping_;
    lock.unlock();
    try {
      // PASSIVE never blocks the writer; at shutdown TRUNCATE leaves a small WAL behind.
      db_->exec(last ? "PRAGMA wal_checkpoint(TRUNCATE)" : "PRAGMA wal_checkpoint(PASSIVE)");
    } catch (const StoreError&) {
      // A busy checkpoint is retried at the next interval; the WAL only grows meanwhile.
    }
    lock.lock();
    ++checkpoints_;
  }
}

}  // namespace markerwatch::store
