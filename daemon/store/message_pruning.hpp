#pragma once
// Removes the raw bytes of old messages (`markerwatch messages prune`): a lab feed sends many
// messages with nothing for a configured marker, and each is kept as received. The row stays
// (sender, control id, hash, outcome, reason) with the time its bytes were removed; results,
// alerts and the re-send check do not read the bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "store/database.hpp"

namespace markerwatch::store {

struct PruneRequest {
  std::string before;                 // YYYY-MM-DD: messages received before this day (UTC)
  std::vector<std::string> outcomes;  // accepted, partial, ignored, rejected
  std::string now;                    // recorded as raw_pruned_at
  bool dry_run = false;               // count only
  int chunk = 500;                    // messages per transaction: the daemon's commits wait less
};

struct PruneReport {
  std::int64_t messages = 0;
  std::int64_t bytes = 0;
};

// Throws StoreError (a commit that fails keeps the chunks committed before it).
PruneReport prune_message_bytes(Database& db, const PruneRequest& request);

}  // namespace markerwatch::store
