#include "store/search_cursor.hpp"

namespace markerwatch::store {

std::optional<std::string> search_cursor(Database& db, const std::string& search) {
  auto q = db.prepare("SELECT last_updated FROM search_cursors WHERE search = ?1");
  q.bind(1, search);
  if (!q.step()) return std::nullopt;
  return q.text(0);
}

void set_search_cursor(Database& db, const std::string& search, const std::string& last_updated,
                       const std::string& now) {
  db.prepare(
        "INSERT INTO search_cursors (search, last_updated, updated_at) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (search) DO UPDATE SET last_updated = excluded.last_updated, "
        "updated_at = excluded.updated_at")
      .bind(1, search)
      .bind(2, last_updated)
      .bind(3, now)
      .run();
}

}  // namespace markerwatch::store
