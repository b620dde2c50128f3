#pragma once
// Copies committed WAL frames back into the database file from a thread and connection of its
// own (SQLite's PASSIVE checkpoint: it never blocks the writer nor waits for it). The writer's own
// automatic checkpoint still resets the WAL; with most frames already copied here, that
// checkpoint has little left to do, so the commit that runs it stalls less; after an import, the
// final checkpoint has little left to copy.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace markerwatch::store {

class Checkpointer {
 public:
  // Opening its connection failed (it stops), or one checkpoint did (it carries on, since the
  // writer's own checkpoint still copies the frames).
  enum class Failure { open, checkpoint };
  using ErrorHandler = std::function<void(Failure what, std::string_view error)>;

  Checkpointer(std::string path, std::chrono::milliseconds interval, ErrorHandler on_error = {});
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
  ErrorHandler on_error_;
  mutable std::mutex mutex_;
  std::condition_variable_any wake_;
  std::uint64_t frames_copied_ = 0;
  std::jthread thread_;
};

}  // namespace markerwatch::store
