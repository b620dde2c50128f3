#pragma once
// Moves WAL checkpoints off the writer: a thread with its own connection runs PASSIVE checkpoints
// at an interval, so commits never pay for copying pages into the database file, and the WAL is
// reused from its start (overwriting, not growing) which keeps each commit's fsync cheap.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/database.hpp"

namespace markerwatch::store {

class Checkpointer {
 public:
  Checkpointer(std::string path, OpenOptions options, std::chrono::milliseconds interval);
  ~Checkpointer();
  void start();
  // Runs a last checkpoint that also truncates the WAL, then joins the thread.
  void stop();
  std::uint64_t checkpoints() const;

 private:
  void run();
  std::string path_;
  OpenOptions options_;
  std::chrono::milliseconds interval_;
  std::unique_ptr<Database> db_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::uint64_t checkpoints_ = 0;
  std::thread thread_;
};

}  // namespace markerwatch::store
