#include "ingest/csv_reader.hpp"

namespace markerwatch::ingest {

CsvReader::CsvReader(std::string_view text, std::size_t max_field_bytes, std::size_t max_fields)
    : text_(text), max_field_bytes_(max_field_bytes), max_fields_(max_fields) {
  if (text_.starts_with("\xEF\xBB\xBF")) text_.remove_prefix(3);
}

std::optional<CsvRow> CsvReader::next() {
  while (pos_ < text_.size()) {
    CsvRow row;
    row.line = line_;
    std::string field;
    bool quoted = false, was_quoted = false, row_done = false;
    auto finish_field = [&] {
      if (row.fields.size() >= max_fields_)
        throw InputError("line " + std::to_string(row.line) + ": more than " +
                         std::to_string(max_fields_) + " fields");
      row.fields.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    };
    while (!row_done) {
      if (pos_ >= text_.size()) {
        if (quoted)
          throw InputError("line " + std::to_string(row.line) + ": unterminated quoted field");
        finish_field();
        row_done = true;
        break;
      }
      char c = text_[pos_++];
      if (quoted) {
        if (c == '"') {
          if (pos_ < text_.size() && text_[pos_] == '"') {
            field.push_back('"');
            ++pos_;
          } else {
            quoted = false;
          }
        } else {
          if (c == '\n') ++line_;
          field.push_back(c);
        }
      } else if (c == '"' && field.empty() && !was_quoted) {
        quoted = was_quoted = true;
      } else if (c == ',') {
        finish_field();
      } else if (c == '\n' || c == '\r') {
        if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
        ++line_;
        finish_field();
        row_done = true;
      } else {
        if (was_quoted)
          throw InputError("line " + std::to_string(line_) + ": text after a closing quote");
        field.push_back(c);
      }
      if (field.size() > max_field_bytes_)
        throw InputError("line " + std::to_string(row.line) + ": a field is longer than " +
                         std::to_string(max_field_bytes_) + " bytes");
    }
    const bool blank = row.fields.size() == 1 && row.fields[0].empty();
    if (!blank) return row;
  }
  return std::nullopt;
}

}  // namespace markerwatch::ingest
