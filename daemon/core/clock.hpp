#pragma once
// Time enters the domain only through this interface, so logic is tested with a manual clock.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace markerwatch {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point now() const = 0;
};

// Whole seconds since the Unix epoch: the unit of stored times and of the webhook timestamps.
inline std::int64_t unix_seconds(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

// The wall clock, for the composition roots (daemon, CLI); logic never constructs it.
class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
};

// Tests advance it on their thread while the service under test reads it on its own (the
// webhook sender's): the time is an atomic.
class ManualClock final : public Clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  explicit ManualClock(time_point t) : ticks_(t.time_since_epoch().count()) {}
  time_point now() const override { return time_point(time_point::duration(ticks_.load())); }
  void advance(time_point::duration d) { ticks_.fetch_add(d.count()); }

 private:
  std::atomic<time_point::rep> ticks_;
};

}  // namespace markerwatch
