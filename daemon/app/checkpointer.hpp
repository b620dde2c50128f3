#pragma once
// Copies committed WAL frames back into the database file from a thread and connection of its
// own (SQLite's PASSIVE checkpoint: it never blocks the writer nor waits for it). The writer's own
// automatic checkpoint still resets the WAL; with most frames already copied here, that
// checkpoint has little left to do, so the commit that runs it stalls less.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace markerwatch::app {

class Checkpointer {
 public:
  Checkpointer(std::string path, std::chrono::milliseconds interval);
  ~Checkpointer();  // stops and joins
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  void start();
  void stop();
  std::uint64_t frames_copied() const;

 private:
  void run(std::stop_token stop);

  std::string path_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable_any wake_;
  std::uint64_t frames_copied_ = 0;
  std::jthread thread_;
};

}  // namespace markerwatch::app
