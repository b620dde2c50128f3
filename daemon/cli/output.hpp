#pragma once
// Tables for people, JSON and CSV for machines.
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace markerwatch::cli {

enum class Format { table, json, csv };
Format parse_format(const std::string& s);

// Columns aligned to their widest cell; numbers right-aligned when `numeric[i]`.
std::string render_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& numeric = {});
std::string render_csv(const std::vector<std::string>& headers,
                       const std::vector<std::vector<std::string>>& rows);
std::string format_number(double v);

// The table or CSV form of rows (JSON is built per command: its fields differ).
std::string render(Format format, const std::vector<std::string>& headers,
                   const std::vector<std::vector<std::string>>& rows,
                   const std::vector<bool>& numeric = {});

// Stored rows as one JSON array on stdout, each in its machine form (the `to_json` of its store
// type, found by argument-dependent lookup: the same form the HTTP API serves).
template <typename Rows>
void print_json_rows(const Rows& rows) {
  auto out = nlohmann::ordered_json::array();
  for (const auto& r : rows) out.push_back(to_json(r));
  std::cout << out.dump() << "\n";
}

}  // namespace markerwatch::cli
