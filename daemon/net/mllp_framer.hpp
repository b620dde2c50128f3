#pragma once
// MLLP release 1 framing: <0x0B> payload <0x1C><0x0D>. Pure state machine fed with the bytes of
// one connection; it yields whole frames, counts skipped garbage and detects oversized frames.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace markerwatch::net {

inline constexpr char kStartBlock = 0x0B;
inline constexpr char kEndBlock = 0x1C;
inline constexpr char kCarriageReturn = 0x0D;

struct FrameEvent {
  // garbage: a run of bytes outside any frame, reported once, when the next frame starts or the
  // input ends; garbage_limit: such a run grew past the frame limit (the framer stops).
  enum class Kind { frame, garbage, garbage_limit, restarted, oversized };
  Kind kind;
  std::string payload;    // frame: the message; oversized: its first bytes (for the ACK header)
  std::size_t bytes = 0;  // garbage, garbage_limit, restarted: how many bytes were dropped
};

class MllpFramer {
 public:
  explicit MllpFramer(std::size_t max_frame_bytes) : max_(max_frame_bytes) {}
  // Appends events for `data` to `out`. After an oversized or garbage_limit event the framer
  // stops producing frames: the connection is to be closed.
  void feed(std::string_view data, std::vector<FrameEvent>& out);
  // At end of input: a frame whose <EB> arrived without the final <CR> is complete after all;
  // garbage not yet reported is.
  void finish(std::vector<FrameEvent>& out);
  bool failed() const { return failed_; }
  // Bytes of a frame started but not finished (a truncated frame at EOF).
  std::size_t pending_bytes() const { return in_frame_ ? buffer_.size() : 0; }

  static std::string frame(std::string_view message);

 private:
  std::size_t max_;
  std::string buffer_;
  bool in_frame_ = false;
  bool saw_end_block_ = false;
  bool failed_ = false;
  std::size_t garbage_ = 0;
};

}  // namespace markerwatch::net
