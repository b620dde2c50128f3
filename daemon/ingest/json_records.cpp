#include "ingest/json_records.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "fhir/json_body.hpp"

namespace markerwatch::ingest {

JsonRows records_from_json(const nlohmann::json& body, FileKind kind, const RecordContext& ctx) {
  if (!body.is_array())
    throw InputError("the body must be a JSON array of objects with the CSV file's fields");
  JsonRows out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const auto& item = body[i];
    try {
      if (!item.is_object()) throw InputError("must be an object");
      CsvRow header, row;
      for (const auto& [key, value] : item.items()) {
        if (value.is_null()) continue;
        header.fields.push_back(key);
        if (fhir::is_decimal(value))
          row.fields.push_back(fhir::decimal_text(value));  // as written: "2.30" stays so
        else if (value.is_string())
          row.fields.push_back(value.get<std::string>());
        else
          throw InputError("field '" + text::printable(key, 40) + "' must be a string or a number");
      }
      if (kind == FileKind::results_csv) {
        auto r = parse_result_row(results_header(header), row, ctx);
        r.source = "api";
        out.records.emplace_back(std::move(r));
      } else {
        out.records.emplace_back(parse_milestone_row(milestones_header(header), row, ctx));
      }
    } catch (const InputError& e) {
      out.rejections.push_back({i, e.what()});
    }
  }
  return out;
}

}  // namespace markerwatch::ingest
