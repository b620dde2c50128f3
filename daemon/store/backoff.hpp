#pragma once
// How long to wait before the next try of something that can keep failing, such as a checkpoint
// on a disk whose syncs fail: `healthy` while it succeeds; after a failure, twice the last wait,
// at least `first` and at most `longest`; the first success brings `healthy` back.
#include <algorithm>
#include <chrono>

namespace markerwatch::store {

class Backoff {
 public:
  using Duration = std::chrono::milliseconds;
  Backoff(Duration healthy, Duration first, Duration longest)
      : healthy_(healthy), first_(first), longest_(std::max(first, longest)), wait_(healthy) {}

  Duration wait() const { return wait_; }
  Duration failed() { return wait_ = std::clamp(2 * wait_, first_, longest_); }
  void succeeded() { wait_ = healthy_; }

 private:
  Duration healthy_, first_, longest_, wait_;
};

}  // namespace markerwatch::store
