#include "net/mllp_framer.hpp"

namespace markerwatch::net {

namespace {
constexpr std::size_t kOversizedPrefix = 4096;
}

void MllpFramer::feed(std::string_view data, std::vector<FrameEvent>& out) {
  auto flush_garbage = [&] {
    if (garbage_ > 0) {
      out.push_back({FrameEvent::Kind::garbage, {}, garbage_});
      garbage_ = 0;
    }
  };
  std::size_t i = 0;
  while (i < data.size() && !failed_) {
    if (!in_frame_) {
      auto start = data.find(kStartBlock, i);
      garbage_ += (start == std::string_view::npos ? data.size() : start) - i;
      if (garbage_ > max_) {
        // A sender that streams no frame at all would keep the connection busy for ever. Checked
        // whether or not the next frame starts in the same read, so that where TCP cut the
        // stream does not decide whether the connection stays.
        out.push_back({FrameEvent::Kind::garbage_limit, {}, garbage_});
        garbage_ = 0;
        failed_ = true;
        break;
      }
      if (start == std::string_view::npos) break;
      flush_garbage();
      in_frame_ = true;
      saw_end_block_ = false;
      buffer_.clear();
      i = start + 1;
      continue;
    }
    if (saw_end_block_) {
      // <EB> must be followed by <CR>; either way the frame is complete.
      saw_end_block_ = false;
      in_frame_ = false;
      out.push_back({FrameEvent::Kind::frame, std::move(buffer_), 0});
      buffer_.clear();
      if (data[i] == kCarriageReturn) ++i;
      continue;
    }
    // Copy the run of ordinary bytes in one go.
    auto stop = data.find_first_of(std::string_view("\x0B\x1C", 2), i);
    auto chunk = data.substr(i, stop == std::string_view::npos ? std::string_view::npos : stop - i);
    if (buffer_.size() + chunk.size() > max_) {
      buffer_.append(chunk.substr(
          0, kOversizedPrefix > buffer_.size() ? kOversizedPrefix - buffer_.size() : 0));
      out.push_back({FrameEvent::Kind::oversized, buffer_.substr(0, kOversizedPrefix), 0});
      buffer_.clear();
      failed_ = true;
      return;
    }
    buffer_.append(chunk);
    i += chunk.size();
    if (i >= data.size()) break;
    if (data[i] == kStartBlock) {
      // A start byte inside a frame: the sender gave up on the previous one.
      out.push_back({FrameEvent::Kind::restarted, {}, buffer_.size()});
      buffer_.clear();
      ++i;
    } else {  // end block
      saw_end_block_ = true;
      ++i;
      if (i < data.size()) continue;
    }
  }
}

void MllpFramer::finish(std::vector<FrameEvent>& out) {
  if (garbage_ > 0) {
    out.push_back({FrameEvent::Kind::garbage, {}, garbage_});
    garbage_ = 0;
  }
  if (in_frame_ && saw_end_block_) {
    out.push_back({FrameEvent::Kind::frame, std::move(buffer_), 0});
    buffer_.clear();
    in_frame_ = saw_end_block_ = false;
  }
}

std::string MllpFramer::frame(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 3);
  out.push_back(kStartBlock);
  out.append(message);
  out.push_back(kEndBlock);
  out.push_back(kCarriageReturn);
  return out;
}

}  // namespace markerwatch::net
