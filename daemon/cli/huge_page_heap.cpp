#include "cli/huge_page_heap.hpp"

#ifdef MW_WITH_TCMALLOC
#include <gperftools/malloc_extension.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#endif

namespace markerwatch::cli {

#ifdef MW_WITH_TCMALLOC
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
// Reserved from the system at a time: tcmalloc asks for 1 MiB and more, and a huge page can
// only back a 2 MiB-aligned range that lies within one marked mapping.
constexpr std::size_t kRegion = std::size_t{64} << 20;

std::uintptr_t align_up(std::uintptr_t at, std::size_t alignment) {
  return (at + alignment - 1) & ~(static_cast<std::uintptr_t>(alignment) - 1);
}

// tcmalloc's source of system memory: hands out consecutive pieces of large marked regions.
// tcmalloc calls Alloc under its own lock, and returns memory with madvise (never munmap), so
// the regions live as long as the process. Reserving virtual space costs nothing until touched.
class HugePageSystemAllocator : public SysAllocator {
 public:
  explicit HugePageSystemAllocator(SysAllocator* fallback) : fallback_(fallback) {}

  void* Alloc(std::size_t size, std::size_t* actual_size, std::size_t alignment) override {
    if (alignment < page_size_) alignment = page_size_;
    size = align_up(size, page_size_);
    std::uintptr_t at = align_up(next_, alignment);
    if (next_ == 0 || at + size > end_) {
      if (!reserve(size + alignment)) return fallback_->Alloc(size, actual_size, alignment);
      at = align_up(next_, alignment);
    }
    next_ = at + size;
    if (actual_size) *actual_size = size;
    return reinterpret_cast<void*>(at);
  }

 private:
  bool reserve(std::size_t at_least) {
    const std::size_t length = align_up(std::max(at_least, kRegion), kHugePage);
    // One huge page more than needed, so that the region can start on a 2 MiB boundary.
    void* mapped = mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) return false;
    const std::uintptr_t start = align_up(reinterpret_cast<std::uintptr_t>(mapped), kHugePage);
    // A kernel without transparent huge pages refuses the advice; the region still serves.
    madvise(reinterpret_cast<void*>(start), length, MADV_HUGEPAGE);
    next_ = start;
    end_ = start + length;
    return true;
  }

  SysAllocator* fallback_;
  const std::size_t page_size_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::uintptr_t next_ = 0, end_ = 0;
};

}  // namespace

bool prefer_huge_pages_for_heap() {
  auto* extension = MallocExtension::instance();
  // Lives as long as the process: tcmalloc may ask it for memory until the very end.
  static HugePageSystemAllocator allocator(extension->GetSystemAllocator());
  extension->SetSystemAllocator(&allocator);
  return true;
}

#else

bool prefer_huge_pages_for_heap() {
  return false;
}

#endif

}  // namespace markerwatch::cli
