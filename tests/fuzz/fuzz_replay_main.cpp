// Runs a fuzz target over files, for builds without libFuzzer (gcc): every input of the target's
// corpus (seeds, and the inputs that once failed) is replayed by ctest in the default and the
// sanitizer builds, so a fixed fault stays fixed. Arguments are files or folders (not recursive).
// With libFuzzer (preset `fuzz`) the same target links libFuzzer's own main instead.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::filesystem::path> inputs_of(const std::filesystem::path& arg) {
  std::vector<std::filesystem::path> out;
  if (std::filesystem::is_directory(arg)) {
    for (const auto& entry : std::filesystem::directory_iterator(arg))
      if (entry.is_regular_file() && entry.path().filename().string().front() != '.')
        out.push_back(entry.path());
    std::sort(out.begin(), out.end());
  } else {
    out.push_back(arg);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    for (const auto& path : inputs_of(argv[i])) {
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "fuzz replay: cannot read %s\n", path.c_str());
        return 2;
      }
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++replayed;
    }
  }
  // A corpus that went missing would otherwise pass by replaying nothing.
  if (replayed == 0) {
    std::fprintf(stderr, "fuzz replay: no inputs found\n");
    return 2;
  }
  std::printf("fuzz replay: %zu inputs, every one ended in an orderly outcome\n", replayed);
  return 0;
}
