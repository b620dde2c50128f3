#pragma once
// How far a search on an upstream FHIR server has been read (schema/0008_search_cursors.sql).
#include <optional>
#include <string>

#include "store/database.hpp"

namespace markerwatch::store {

std::optional<std::string> search_cursor(Database& db, const std::string& search);
// Inside the caller's transaction, with what the run stored.
void set_search_cursor(Database& db, const std::string& search, const std::string& last_updated,
                       const std::string& now);

}  // namespace markerwatch::store
