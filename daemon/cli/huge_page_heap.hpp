#pragma once
// A replay builds gigabytes of small objects (a ledger per patient), an import of a large file
// hundreds of megabytes. With the kernel's 4 KiB pages a fifth of a replay's time went to page
// faults and TLB misses; memory the kernel may back with 2 MiB pages (transparent huge pages,
// `madvise` mode as Debian ships it) removes nearly all of them.

namespace markerwatch::cli {

// From now on, the allocator takes new memory from the system in 2 MiB-aligned regions marked
// MADV_HUGEPAGE. Only a build with tcmalloc (the default) can: it returns false otherwise, and
// the heap stays as it was. Call it before other threads start. Memory the process already has
// is unchanged; the kernel decides per region whether a huge page is available.
bool prefer_huge_pages_for_heap();

}  // namespace markerwatch::cli
