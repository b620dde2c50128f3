#include "cli/output.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace markerwatch::cli {

Format parse_format(const std::string& s) {
  if (s == "table") return Format::table;
  if (s == "json") return Format::json;
  if (s == "csv") return Format::csv;
  throw std::invalid_argument("--format must be table, json or csv");
}

std::string render_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& numeric) {
  std::vector<std::size_t> width(headers.size());
  for (std::size_t i = 0; i < headers.size(); ++i) width[i] = headers[i].size();
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < headers.size(); ++i) {
      const std::string cell = i < cells.size() ? cells[i] : "";
      const std::string pad(width[i] - std::min(width[i], cell.size()), ' ');
      const bool right = i < numeric.size() && numeric[i];
      out += right ? pad + cell : cell + (i + 1 < headers.size() ? pad : "");
      if (i + 1 < headers.size()) out += "  ";
    }
    return out + "\n";
  };
  std::string out = line(headers);
  std::vector<std::string> rule;
  for (auto w : width) rule.push_back(std::string(w, '-'));
  out += line(rule);
  for (const auto& r : rows) out += line(r);
  return out;
}

std::string render_csv(const std::vector<std::string>& headers,
                       const std::vector<std::vector<std::string>>& rows) {
  auto cell = [](const std::string& v) {
    if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
    std::string q = "\"";
    for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) out += (i ? "," : "") + cell(cells[i]);
    out += "\n";
  };
  line(headers);
  for (const auto& r : rows) line(r);
  return out;
}

std::string render(Format format, const std::vector<std::string>& headers,
                   const std::vector<std::vector<std::string>>& rows,
                   const std::vector<bool>& numeric) {
  return format == Format::csv ? render_csv(headers, rows) : render_table(headers, rows, numeric);
}

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace markerwatch::cli
