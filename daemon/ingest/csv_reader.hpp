#pragma once
// RFC 4180 CSV: quoted fields with embedded separators, quotes and line breaks; CRLF or LF.
// Bounded: a field or a row over the limits is an error, never an allocation spree.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.hpp"

namespace markerwatch::ingest {

struct CsvRow {
  std::size_t line = 0;  // 1-based line where the row starts
  std::vector<std::string> fields;
};

// Reads from a view: the text must outlive the reader.
class CsvReader {
 public:
  explicit CsvReader(std::string_view text, std::size_t max_field_bytes = 64 * 1024,
                     std::size_t max_fields = 64);
  // Next non-blank row; nullopt at the end. Throws InputError with the line on malformed input.
  std::optional<CsvRow> next();
  // The same into `row`, whose fields keep their room from one row to the next (a reader of
  // millions of rows then allocates nothing per row); false at the end.
  bool next(CsvRow& row);

  // Where the next row starts, to come back to it with seek() (a re-read yields the same row).
  struct Position {
    std::size_t offset = 0;
    std::size_t line = 1;
  };
  Position position() const { return {pos_, line_}; }
  // The text positions refer to (without a byte order mark).
  std::string_view text() const { return text_; }
  void seek(Position p) {
    pos_ = p.offset;
    line_ = p.line;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t max_field_bytes_;
  std::size_t max_fields_;
  std::size_t fields_hint_ = 1;  // the widest row so far, to size the next one once
};

}  // namespace markerwatch::ingest
