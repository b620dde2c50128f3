#pragma once
// Items handed from a helper thread that prepares them to the thread that stores them, in order,
// through a queue bounded by the items' weight (rows, bytes): memory stays bounded by the queue,
// not by the input. What the helper throws is rethrown to the taker once the items before it are
// taken.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <stop_token>
#include <utility>

namespace markerwatch::ingest {

template <typename T>
class HandOff {
 public:
  explicit HandOff(std::size_t max_weight) : max_weight_(max_weight) {}

  // The helper: waits while the queue is full (an item heavier than the bound still goes through,
  // alone) or until `stop` is requested, when the item is dropped.
  void push(T item, std::size_t weight, std::stop_token& stop) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, stop, [&] { return queue_.empty() || weight_ < max_weight_; });
    if (stop.stop_requested()) return;
    weight_ += weight;
    queue_.push_back({std::move(item), weight});
    changed_.notify_all();
  }
  // The helper is done, or failed with `failure`. What it wrote before is visible to the taker
  // once take() has returned nullopt.
  void finish(std::exception_ptr failure = nullptr) {
    std::lock_guard lock(mutex_);
    failure_ = std::move(failure);
    done_ = true;
    changed_.notify_all();
  }
  // The next item; nullopt once the helper is done and every item is taken. Rethrows its failure.
  std::optional<T> take() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !queue_.empty() || done_; });
    if (queue_.empty()) {
      if (failure_) std::rethrow_exception(failure_);
      return std::nullopt;
    }
    auto [item, weight] = std::move(queue_.front());
    queue_.pop_front();
    weight_ -= weight;
    changed_.notify_all();
    return std::move(item);
  }

 private:
  std::mutex mutex_;
  std::condition_variable_any changed_;
  std::deque<std::pair<T, std::size_t>> queue_;
  std::size_t weight_ = 0;
  const std::size_t max_weight_;
  bool done_ = false;
  std::exception_ptr failure_;
};

}  // namespace markerwatch::ingest
