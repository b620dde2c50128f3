#pragma once
// The alert review page (GET /): HTML, CSS and JavaScript built into the binary from
// daemon/app/review/. They hold no patient data; the page fetches that with the person's token.
#include <string_view>
#include <vector>

namespace markerwatch::app {

struct StaticAsset {
  std::string_view path;  // "/", "/review.css", "/review.js"
  std::string_view content_type;
  std::string_view body;
};

const std::vector<StaticAsset>& review_assets();

}  // namespace markerwatch::app
