#pragma once
// The JSON API's bodies (POST /api/v1/results, /api/v1/milestones): an array of objects with the
// same fields as the CSV files, read by the same row parsers so both paths accept the same
// values. Pure.
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "ingest/csv_records.hpp"

namespace markerwatch::ingest {

struct JsonRows {
  std::vector<std::variant<ResultRecord, MilestoneRecord>> records;
  struct Rejection {
    std::size_t index = 0;  // 0-based position in the array
    std::string reason;
  };
  std::vector<Rejection> rejections;
};

// `kind` is results_csv or milestones_csv. Field values are strings or numbers (null = absent).
// Throws InputError when the body is not an array of objects at all.
JsonRows records_from_json(const nlohmann::json& body, FileKind kind, const RecordContext& ctx);

}  // namespace markerwatch::ingest
