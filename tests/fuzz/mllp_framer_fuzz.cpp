// The bytes of one MLLP connection, as TCP may cut them into reads anywhere. Properties:
// - the framer's events do not depend on where the reads are cut: fed at once or in pieces, the
//   same frames, garbage counts, restarts and limits, in the same order (a run of garbage past
//   the limit is counted, and the head of an oversized frame kept, as far as it had been read);
// - no frame is longer than the limit, and after a limit event nothing more comes.
// Input: byte 0 picks the frame limit (1 to 256 bytes, so limits are reached), byte 1 the sizes
// of the reads; the rest is the stream.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "net/mllp_framer.hpp"

using namespace markerwatch;
using net::FrameEvent;

namespace {

struct Fed {
  std::vector<FrameEvent> events;
  bool failed = false;
  std::size_t pending = 0;
};

Fed feed_in_reads(std::string_view stream, std::size_t limit, unsigned read_seed) {
  net::MllpFramer framer(limit);
  Fed fed;
  std::size_t at = 0;
  unsigned seed = read_seed;
  while (at < stream.size()) {
    // read_seed 0: one read; otherwise reads of 1 to 16 bytes, varied by a small LCG.
    std::size_t n = stream.size() - at;
    if (read_seed != 0) {
      seed = seed * 1103515245u + 12345u;
      n = std::min<std::size_t>(n, 1 + (seed >> 16) % 16);
    }
    framer.feed(stream.substr(at, n), fed.events);
    at += n;
  }
  fed.pending = framer.pending_bytes();
  framer.finish(fed.events);
  fed.failed = framer.failed();
  return fed;
}

bool same(const FrameEvent& a, const FrameEvent& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case FrameEvent::Kind::garbage_limit:
      return true;  // the run that passed the limit is counted as far as it had been read
    case FrameEvent::Kind::oversized: {
      // The head kept for the ACK is the frame's start as far as it had been read.
      const auto n = std::min(a.payload.size(), b.payload.size());
      return a.payload.compare(0, n, b.payload, 0, n) == 0;
    }
    default:
      return a.payload == b.payload && a.bytes == b.bytes;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t limit = 1 + data[0];
  const unsigned read_seed = data[1];
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

  const auto whole = feed_in_reads(stream, limit, 0);
  const auto pieces = feed_in_reads(stream, limit, read_seed == 0 ? 1 : read_seed);
  fuzz::require(whole.events.size() == pieces.events.size(),
                "the number of events depends on where the reads are cut");
  for (std::size_t i = 0; i < whole.events.size(); ++i)
    fuzz::require(same(whole.events[i], pieces.events[i]),
                  "an event depends on where the reads are cut");
  fuzz::require(whole.failed == pieces.failed && whole.pending == pieces.pending,
                "the framer's state depends on where the reads are cut");

  bool limited = false;
  for (const auto& e : whole.events) {
    fuzz::require(!limited, "an event after the frame limit was reached");
    if (e.kind == FrameEvent::Kind::frame)
      fuzz::require(e.payload.size() <= limit, "a frame longer than the limit");
    if (e.kind == FrameEvent::Kind::garbage)
      fuzz::require(e.bytes <= limit, "a run of garbage longer than the limit let through");
    if (e.kind == FrameEvent::Kind::oversized)
      fuzz::require(e.payload.size() > std::min<std::size_t>(limit, 4095),
                    "the head of an oversized frame is short of the limit and of 4 KiB");
    if (e.kind == FrameEvent::Kind::garbage_limit)
      fuzz::require(e.bytes > limit, "a run of garbage stopped short of the limit");
    limited = e.kind == FrameEvent::Kind::oversized || e.kind == FrameEvent::Kind::garbage_limit;
  }
  fuzz::require(limited == whole.failed,
                "a limit event without the framer failing, or the reverse");
  return 0;
}
