#pragma once
// A Prometheus-style histogram: counts of observations at or below each bound, their sum and
// number. Thread-safe; observed on the writer thread, read when /metrics is scraped.
#include <algorithm>
#include <cstdint>
#include <mutex>
#include <vector>

namespace markerwatch::ingest {

class Histogram {
 public:
  struct Snapshot {
    std::vector<double> bounds;             // upper bounds, ascending; +Inf is implied
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0.0;
    std::uint64_t count = 0;
  };

  explicit Histogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

  void observe(double v) {
    const auto bucket = static_cast<std::size_t>(
        std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    std::lock_guard lock(mutex_);
    ++counts_[bucket];
    sum_ += v;
  }

  Snapshot snapshot() const {
    std::lock_guard lock(mutex_);
    Snapshot s{bounds_, {}, sum_, 0};
    for (auto c : counts_) s.cumulative.push_back(s.count += c);
    return s;
  }

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> counts_;  // per bucket (not cumulative)
  double sum_ = 0.0;
};

}  // namespace markerwatch::ingest
