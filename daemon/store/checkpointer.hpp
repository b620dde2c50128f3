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
  // Opening its connection failed (it stops); checkpoints fail (it carries on, since the writer's
  // own checkpoint still copies the frames); they succeed again after failing, and none has
  // failed for `quiet`.
  enum class Event { open_failed, checkpoint_failed, checkpoint_recovered };
  // `failures`: for checkpoint_failed, the failures since the last report: the first of a run is
  // reported at once, then one report per `report_every` while they go on (a full disk fails
  // every try); for checkpoint_recovered, all the failures of the run that ended.
  using Reporter = std::function<void(Event what, std::string_view error, std::uint64_t failures)>;
  static constexpr std::chrono::seconds kReportEvery{60};
  // A run of failures ends with a checkpoint of the whole log this long after the last failure.
  static constexpr std::chrono::seconds kQuietBeforeRecovered{30};
  // After each failure the next try waits twice as long, up to this (or twice `interval` if
  // longer); the first success brings `interval` back.
  static constexpr std::chrono::seconds kLongestBackoff{5};

  Checkpointer(std::string path, std::chrono::milliseconds interval, Reporter report = {},
               std::chrono::milliseconds report_every = kReportEvery,
               std::chrono::milliseconds quiet = kQuietBeforeRecovered);
  ~Checkpointer();  // stops and joins
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  void start();
  void stop();
  std::uint64_t frames_copied() const;
  std::uint64_t failures() const;  // failed tries since start()

 private:
  void run(std::stop_token stop);

  std::string path_;
  std::chrono::milliseconds interval_;
  Reporter report_;
  std::chrono::milliseconds report_every_;
  std::chrono::milliseconds quiet_;
  mutable std::mutex mutex_;
  std::condition_variable_any wake_;
  std::uint64_t frames_copied_ = 0;
  std::uint64_t failures_ = 0;
  std::jthread thread_;
};

}  // namespace markerwatch::store
