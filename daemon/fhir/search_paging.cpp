#include "fhir/search_paging.hpp"

#include "core/errors.hpp"
#include "core/timestamp.hpp"

namespace markerwatch::fhir {
namespace {

// "YYYY-MM-DDThh:mm:ss[.f...]Z" with nine fraction digits, so that text order is time order.
std::string comparable(std::string_view utc) {
  std::string out(utc.substr(0, 19));
  std::string fraction;
  if (utc.size() > 20 && utc[19] == '.') fraction = std::string(utc.substr(20, utc.size() - 21));
  fraction.resize(9, '0');
  return out + "." + fraction;
}

std::optional<std::string> utc_instant(const Json& value) {
  if (!value.is_string()) return std::nullopt;
  const auto parsed = parse_iso_timestamp(value.get<std::string>());
  if (!parsed || !parsed->offset_minutes || parsed->precision < TimePrecision::second)
    return std::nullopt;  // an instant has seconds and an offset
  const auto resolved = resolve(*parsed, FixedOffsetZone(0));
  if (!resolved) return std::nullopt;
  return resolved->utc;
}

}  // namespace

std::string search_url(std::string_view base_url, std::string_view search, std::string_view since) {
  std::string url = std::string(base_url) + "/" + std::string(search);
  if (!since.empty())
    url += (search.find('?') == std::string_view::npos ? "?" : "&") +
           std::string("_lastUpdated=ge") + std::string(since);
  return url;
}

bool later_instant(std::string_view a, std::string_view b) {
  if (a.empty()) return false;
  if (b.empty()) return true;
  return comparable(a) > comparable(b);
}

SearchPage read_search_page(const Json& bundle) {
  if (!bundle.is_object() || bundle.value("resourceType", Json()) != "Bundle")
    throw InputError("the answer is not a FHIR Bundle");
  if (bundle.value("type", Json()) != "searchset")
    throw InputError("the answer is a Bundle, but not a searchset");
  SearchPage page;
  if (auto links = bundle.find("link"); links != bundle.end() && links->is_array())
    for (const auto& link : *links)
      if (link.is_object() && link.value("relation", Json()) == "next" &&
          link.value("url", Json()).is_string())
        page.next = link["url"].get<std::string>();
  if (auto entries = bundle.find("entry"); entries != bundle.end() && entries->is_array())
    for (const auto& entry : *entries) {
      if (!entry.is_object() || !entry.contains("resource")) continue;
      const auto& resource = entry["resource"];
      if (!resource.is_object() || !resource.contains("meta") || !resource["meta"].is_object())
        continue;
      const auto updated = utc_instant(resource["meta"].value("lastUpdated", Json()));
      if (updated && later_instant(*updated, page.latest_update.value_or("")))
        page.latest_update = updated;
    }
  return page;
}

}  // namespace markerwatch::fhir
