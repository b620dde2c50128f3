#pragma once
// Output written to a file descriptor by a thread of its own: the caller fills the next block
// while the kernel copies the last one. A replay prints hundreds of MB of JSON lines after its
// evaluation, on one thread; the copies into the page cache were a third of that time
// (bench/README.md).
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace markerwatch::cli {

class BackgroundWriter {
 public:
  explicit BackgroundWriter(int fd, std::size_t block_bytes = std::size_t{1} << 20);
  // Writes what is left and joins the thread; a failure then goes unreported (call finish()).
  ~BackgroundWriter();
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  // Once a write failed, the text is dropped: finish() reports the failure. Not after finish()
  // (std::logic_error).
  void write(std::string_view text);
  // Writes what is left, waits for it, and throws std::system_error if any write failed.
  void finish();

 private:
  void hand_over();  // the filled block to the thread, once it took the one before
  void run(std::stop_token stop);

  const int fd_;
  const std::size_t block_bytes_;
  std::string filling_;  // the caller's
  std::mutex mutex_;
  std::condition_variable_any changed_;
  std::string handed_;  // the thread's, while `busy_`
  bool busy_ = false;
  int error_ = 0;        // errno of the first failed write
  std::jthread thread_;  // last: starts once the members above are ready
};

}  // namespace markerwatch::cli
