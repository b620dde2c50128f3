#include <catch2/catch.hpp>

#include "net/mllp_framer.hpp"

using namespace markerwatch::net;
using Kind = FrameEvent::Kind;

namespace {
std::vector<FrameEvent> feed_all(MllpFramer& f, const std::vector<std::string>& chunks) {
  std::vector<FrameEvent> out;
  for (const auto& c : chunks) f.feed(c, out);
  return out;
}
}  // namespace

TEST_CASE("several frames in one read") {
  MllpFramer f(1000);
  auto ev =
      feed_all(f, {MllpFramer::frame("A") + MllpFramer::frame("BB") + MllpFramer::frame("C")});
  REQUIRE(ev.size() == 3);
  CHECK(ev[0].payload == "A");
  CHECK(ev[1].payload == "BB");
  CHECK(ev[2].payload == "C");
}

TEST_CASE("one frame over many reads, split anywhere, even between EB and CR") {
  const std::string framed = MllpFramer::frame("MSH|^~\\&|A\rPID|1");
  for (std::size_t cut = 0; cut <= framed.size(); ++cut) {
    MllpFramer f(1000);
    auto ev = feed_all(f, {framed.substr(0, cut), framed.substr(cut)});
    INFO("cut at " << cut);
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].payload == "MSH|^~\\&|A\rPID|1");
  }
  MllpFramer bytewise(1000);
  std::vector<std::string> bytes;
  for (char c : framed) bytes.emplace_back(1, c);
  auto ev = feed_all(bytewise, bytes);
  REQUIRE(ev.size() == 1);
}

TEST_CASE("garbage before the start byte is skipped and reported") {
  MllpFramer f(1000);
  auto ev = feed_all(f, {"hello" + MllpFramer::frame("A")});
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].kind == Kind::garbage);
  CHECK(ev[0].bytes == 5);
  CHECK(ev[1].payload == "A");
}

TEST_CASE("a run of garbage is reported once: when the next frame starts, or at the end") {
  MllpFramer f(1000);
  auto ev = feed_all(f, {"he", "l", "lo", MllpFramer::frame("A") + "\n", "\r\n"});
  REQUIRE(ev.size() == 2);  // not one report per read
  CHECK(ev[0].kind == Kind::garbage);
  CHECK(ev[0].bytes == 5);
  CHECK(ev[1].payload == "A");
  f.finish(ev);
  REQUIRE(ev.size() == 3);
  CHECK(ev[2].kind == Kind::garbage);
  CHECK(ev[2].bytes == 3);  // the line ends after the frame
  CHECK_FALSE(f.failed());
}

TEST_CASE("a run of garbage longer than the frame limit stops the framer") {
  MllpFramer f(100);
  auto ev = feed_all(f, {std::string(60, 'x'), std::string(40, 'x'), MllpFramer::frame("in time")});
  REQUIRE(ev.size() == 2);  // 100 bytes: at the limit, a frame is still welcome
  CHECK(ev[0].bytes == 100);
  CHECK(ev[1].payload == "in time");
  CHECK_FALSE(f.failed());
  MllpFramer g(100);
  ev = feed_all(g, {std::string(60, 'x'), std::string(41, 'x'), MllpFramer::frame("late")});
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == Kind::garbage_limit);
  CHECK(ev[0].bytes == 101);
  CHECK(g.failed());
  // The same when the frame starts in the read that carries the run past the limit (found by
  // tests/fuzz/mllp_framer_fuzz.cpp: such a run was let through, so where TCP cut the stream
  // decided whether the connection stayed).
  MllpFramer h(100);
  ev = feed_all(h, {std::string(101, 'x') + MllpFramer::frame("late")});
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == Kind::garbage_limit);
  CHECK(ev[0].bytes == 101);
  CHECK(h.failed());
}

TEST_CASE("a start byte inside a frame restarts it") {
  MllpFramer f(1000);
  auto ev = feed_all(f, {"\x0bpartial\x0bwhole\x1c\x0d"});
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].kind == Kind::restarted);
  CHECK(ev[0].bytes == 7);
  CHECK(ev[1].payload == "whole");
}

TEST_CASE("an oversized frame is reported with its head and stops the framer") {
  MllpFramer f(100);
  auto ev = feed_all(f, {"\x0bMSH|^~\\&|" + std::string(200, 'x'), MllpFramer::frame("next")});
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == Kind::oversized);
  CHECK(ev[0].payload.starts_with("MSH|^~\\&|"));
  CHECK(f.failed());
}

TEST_CASE("a frame exactly at the limit passes") {
  MllpFramer f(10);
  auto ev = feed_all(f, {MllpFramer::frame(std::string(10, 'a'))});
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == Kind::frame);
}

TEST_CASE("EB without CR completes a frame at end of input; a truncated frame does not") {
  MllpFramer f(100);
  auto ev = feed_all(f, {"\x0b"
                         "abc\x1c"});
  CHECK(ev.empty());
  f.finish(ev);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].payload == "abc");
  MllpFramer t(100);
  auto none = feed_all(t, {"\x0b"
                           "abc"});
  t.finish(none);
  CHECK(none.empty());
  CHECK(t.pending_bytes() == 3);
}
