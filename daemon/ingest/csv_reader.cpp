#include "ingest/csv_reader.hpp"

#include <algorithm>
#include <array>

namespace markerwatch::ingest {

namespace {

// The bytes that end an unquoted field, found with one lookup per byte.
constexpr auto kFieldEnds = [] {
  std::array<bool, 256> ends{};
  ends[','] = ends['\n'] = ends['\r'] = true;
  return ends;
}();

}  // namespace

CsvReader::CsvReader(std::string_view text, std::size_t max_field_bytes, std::size_t max_fields)
    : text_(text), max_field_bytes_(max_field_bytes), max_fields_(max_fields) {
  if (text_.starts_with("\xEF\xBB\xBF")) text_.remove_prefix(3);
}

std::optional<CsvRow> CsvReader::next() {
  CsvRow row;
  row.fields.reserve(fields_hint_);
  if (!next(row)) return std::nullopt;
  return row;
}

// Fields are copied a run of characters at a time, not character by character: an import reads
// every row twice (grouping, then mapping), and the grouping pass runs while nothing else can.
bool CsvReader::next(CsvRow& row) {
  const auto size = text_.size();
  while (pos_ < size) {
    row.line = line_;
    std::size_t count = 0;  // fields of this row in row.fields; the rest are spare room
    const auto check_size = [&](std::size_t field_bytes) {
      if (field_bytes > max_field_bytes_)
        throw InputError("line " + std::to_string(row.line) + ": a field is longer than " +
                         std::to_string(max_field_bytes_) + " bytes");
    };
    for (bool row_done = false; !row_done;) {
      if (count == row.fields.size()) row.fields.emplace_back();
      auto& field = row.fields[count];
      field.clear();
      bool was_quoted = false;
      if (pos_ < size && text_[pos_] == '"') {
        was_quoted = true;
        ++pos_;
        for (;;) {
          const auto quote = text_.find('"', pos_);
          const auto run =
              text_.substr(pos_, quote == std::string_view::npos ? size : quote - pos_);
          check_size(field.size() + run.size());
          if (quote == std::string_view::npos)
            throw InputError("line " + std::to_string(row.line) + ": unterminated quoted field");
          line_ += static_cast<std::size_t>(std::count(run.begin(), run.end(), '\n'));
          field.append(run);
          pos_ = quote + 1;
          if (pos_ >= size || text_[pos_] != '"') break;
          field.push_back('"');  // a doubled quote
          check_size(field.size());
          ++pos_;
        }
      }
      auto end = pos_;
      while (end < size && !kFieldEnds[static_cast<unsigned char>(text_[end])]) ++end;
      if (end > pos_) {
        if (was_quoted)
          throw InputError("line " + std::to_string(line_) + ": text after a closing quote");
        check_size(end - pos_);
        field.append(text_.substr(pos_, end - pos_));
      }
      pos_ = end;
      if (count >= max_fields_)
        throw InputError("line " + std::to_string(row.line) + ": more than " +
                         std::to_string(max_fields_) + " fields");
      ++count;
      if (pos_ >= size) break;
      const char separator = text_[pos_++];
      if (separator == ',') continue;
      if (separator == '\r' && pos_ < size && text_[pos_] == '\n') ++pos_;
      ++line_;
      row_done = true;
    }
    row.fields.resize(count);
    fields_hint_ = std::max(fields_hint_, count);
    const bool blank = count == 1 && row.fields[0].empty();
    if (!blank) return true;
  }
  return false;
}

}  // namespace markerwatch::ingest
