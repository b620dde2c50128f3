// The disk's commit ceiling, measured beside the MLLP runs: how long one synchronous commit of a
// small transaction takes in the benchmark's directory. With synchronous = FULL and an ACK after
// every commit, one connection can never be acknowledged faster than this. Writes `bytes` at the
// start of a file and fdatasyncs it, `count` times: a WAL that SQLite has reset is overwritten
// from its start in the same way (a WAL still growing costs more: its size changes too).
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::string dir = ".";
  int count = 300;
  int bytes = 16384;
  CLI::App app{"fdatasync latency of small overwrites: the commit ceiling of this disk"};
  app.add_option("--dir", dir, "directory on the disk to measure")->check(CLI::ExistingDirectory);
  app.add_option("--count", count, "commits to time")->check(CLI::Range(10, 100000));
  app.add_option("--bytes", bytes, "bytes per commit")->check(CLI::Range(512, 1 << 24));
  CLI11_PARSE(app, argc, argv);

  const auto path = dir + "/fsync_probe.tmp";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    std::perror(path.c_str());
    return 1;
  }
  const std::string block(static_cast<std::size_t>(bytes), 'x');
  std::vector<double> us;
  bool ok = ::pwrite(fd, block.data(), block.size(), 0) == bytes && ::fsync(fd) == 0;
  for (int i = 0; ok && i < count; ++i) {
    const auto start = std::chrono::steady_clock::now();
    ok = ::pwrite(fd, block.data(), block.size(), 0) == bytes && ::fdatasync(fd) == 0;
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (!ok) {
    std::perror("write or fdatasync");
    return 1;
  }
  std::sort(us.begin(), us.end());
  const auto at = [&](double p) { return us[static_cast<std::size_t>(p * (us.size() - 1))]; };
  std::printf("fdatasync bytes=%d p50_us=%.0f p99_us=%.0f commits_per_s_at_p50=%.0f\n", bytes,
              at(0.5), at(0.99), 1e6 / at(0.5));
  return 0;
}
