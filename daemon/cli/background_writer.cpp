#include "cli/background_writer.hpp"

#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace markerwatch::cli {

BackgroundWriter::BackgroundWriter(int fd, std::size_t block_bytes)
    : fd_(fd), block_bytes_(block_bytes), thread_([this](std::stop_token stop) { run(stop); }) {
  filling_.reserve(block_bytes_);
}

BackgroundWriter::~BackgroundWriter() {
  try {
    finish();
  } catch (const std::system_error&) {
    // Reported only by an explicit finish().
  }
}

void BackgroundWriter::write(std::string_view text) {
  if (!thread_.joinable()) throw std::logic_error("BackgroundWriter: a write after finish()");
  filling_.append(text);
  if (filling_.size() >= block_bytes_) hand_over();
}

void BackgroundWriter::hand_over() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return !busy_; });
  if (error_ == 0) {
    handed_.swap(filling_);
    busy_ = true;
    changed_.notify_all();
  }
  filling_.clear();
}

void BackgroundWriter::finish() {
  if (thread_.joinable()) {
    if (!filling_.empty()) hand_over();
    thread_.request_stop();
    thread_.join();
  }
  if (error_ != 0) throw std::system_error(error_, std::generic_category(), "writing the output");
}

void BackgroundWriter::run(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  for (;;) {
    // Wakes for a block, or to stop once the last one is written.
    changed_.wait(lock, stop, [this] { return busy_; });
    if (!busy_) return;
    lock.unlock();
    int error = 0;
    for (std::string_view left = handed_; !left.empty();) {
      const auto written = ::write(fd_, left.data(), left.size());
      if (written < 0) {
        if (errno == EINTR) continue;
        error = errno;
        break;
      }
      left.remove_prefix(static_cast<std::size_t>(written));
    }
    handed_.clear();
    lock.lock();
    if (error_ == 0) error_ = error;
    busy_ = false;
    changed_.notify_all();
  }
}

}  // namespace markerwatch::cli
