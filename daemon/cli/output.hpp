#pragma once
// Tables for people, JSON and CSV for machines.
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

}  // namespace markerwatch::cli
