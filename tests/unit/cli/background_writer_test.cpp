// The replay's output writer: every byte in order through the blocks it hands to its thread, what
// is left written at the end, and a failed write reported rather than lost.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "cli/background_writer.hpp"
#include "test_support.hpp"

using namespace markerwatch;

TEST_CASE("background writer: every byte in order, across blocks and at the end") {
  int ends[2];
  REQUIRE(::pipe(ends) == 0);
  std::string received;
  std::jthread reader([&] {
    char buffer[4096];
    for (;;) {
      const auto got = ::read(ends[0], buffer, sizeof buffer);
      if (got <= 0) break;
      received.append(buffer, static_cast<std::size_t>(got));
    }
  });
  std::string sent;
  {
    cli::BackgroundWriter writer(ends[1], 64);  // small blocks: many hand-overs
    for (int i = 0; i < 2000; ++i) {
      // Pieces shorter and longer than a block.
      const std::string piece =
          std::to_string(i) + std::string(static_cast<std::size_t>(i % 150), 'x') + "\n";
      writer.write(piece);
      sent += piece;
    }
    writer.write("last, shorter than a block");
    sent += "last, shorter than a block";
    writer.finish();
  }
  ::close(ends[1]);
  reader.join();
  ::close(ends[0]);
  CHECK(received.size() == sent.size());
  CHECK(received == sent);
}

TEST_CASE("background writer: what is left is written when it goes, without finish()") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("mw_background_writer_" + std::to_string(::getpid()) + ".txt");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  {
    cli::BackgroundWriter writer(fd, 1024);
    writer.write("one line\n");
  }
  ::close(fd);
  CHECK(test::read_file(path) == "one line\n");
  std::filesystem::remove(path);
}

TEST_CASE("background writer: a write that fails is reported by finish()") {
  const int read_only = ::open("/dev/null", O_RDONLY);
  REQUIRE(read_only >= 0);
  cli::BackgroundWriter writer(read_only, 16);
  writer.write("more than one block of text");
  writer.write("and after the failure, dropped");
  CHECK_THROWS_AS(writer.finish(), std::system_error);
  CHECK_THROWS_WITH(writer.finish(), Catch::Contains("writing the output"));
  CHECK_THROWS_AS(writer.write("after the end"), std::logic_error);
  ::close(read_only);
}
