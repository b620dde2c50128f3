#pragma once
// Reading a FHIR search page by page (`[fhir.upstream]`): the URL of the first page, a page's
// next link, and the latest time a resource on it was updated, which the next run searches from.
#include <optional>
#include <string>
#include <string_view>

#include "fhir/json_body.hpp"

namespace markerwatch::fhir {

// The first page of `search` at `base_url`, for resources updated at or after `since` (a UTC
// instant as SearchPage::latest_update gives it; "" = all of them). At or after, not after: a
// resource updated in the instant the last run ended with is read again rather than missed, and
// storing it again changes nothing.
std::string search_url(std::string_view base_url, std::string_view search, std::string_view since);

struct SearchPage {
  std::optional<std::string> next;           // Bundle.link with relation "next"
  std::optional<std::string> latest_update;  // latest entry.resource.meta.lastUpdated, UTC
};

// InputError when `bundle` is not a searchset Bundle.
SearchPage read_search_page(const Json& bundle);

// Whether the UTC instant `a` is later than `b` (as latest_update gives them; "" is earliest).
bool later_instant(std::string_view a, std::string_view b);

}  // namespace markerwatch::fhir
