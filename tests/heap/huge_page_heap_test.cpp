// prefer_huge_pages_for_heap: memory tcmalloc takes from the system after the call lies in
// mappings marked for transparent huge pages (VmFlags "hg" in /proc/self/smaps), and memory
// taken before it does not. A separate program: the unit tests' allocator is not tcmalloc.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/huge_page_heap.hpp"

namespace {

// The VmFlags of the mapping that holds `address`, or nullopt when no mapping does.
std::optional<std::string> vm_flags_at(const void* address) {
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t from = 0, to = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> from >> dash >> to && dash == '-') {
      inside = from <= at && at < to;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line.substr(8) + " ";
    }
  }
  return std::nullopt;
}

bool marked_huge(const void* address) {
  const auto flags = vm_flags_at(address);
  REQUIRE(flags);
  return flags->find(" hg ") != std::string::npos;
}

// Enough small objects that tcmalloc must take new memory from the system.
std::vector<std::unique_ptr<char[]>> allocate_many() {
  std::vector<std::unique_ptr<char[]>> blocks;
  for (int i = 0; i < 256 * 1024; ++i) blocks.emplace_back(new char[200]());
  return blocks;
}

}  // namespace

TEST_CASE("after the call, the heap grows in memory marked for huge pages") {
  if (!std::filesystem::exists("/sys/kernel/mm/transparent_hugepage/enabled")) {
    WARN("this kernel has no transparent huge pages: nothing to check");
    return;
  }
  const auto before = allocate_many();
  CHECK_FALSE(marked_huge(before.back().get()));

  REQUIRE(markerwatch::cli::prefer_huge_pages_for_heap());
  const auto after = allocate_many();
  CHECK(marked_huge(after.back().get()));
  CHECK(marked_huge(after[after.size() / 2].get()));
  // The memory is ordinary memory: written and read back.
  after.back()[199] = 'x';
  CHECK(after.back()[199] == 'x');
}
