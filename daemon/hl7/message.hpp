#pragma once
// HL7 v2 message parsing (v2.2-2.5.1): encoding characters from MSH-1/MSH-2, segments, fields,
// repetitions, components, subcomponents and escape sequences. Pure and bounded: it never reads
// past its input and rejects absurd sizes.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.hpp"

namespace markerwatch::hl7 {

class ParseError : public InputError {
 public:
  using InputError::InputError;
};

struct Delimiters {
  char field = '|';
  char component = '^';
  char repetition = '~';
  char escape = '\\';  // '\0' when the message declares none (3-character MSH-2 "^~&")
  char subcomponent = '&';
};

struct Limits {
  std::size_t max_bytes = 16 * 1024 * 1024;
  std::size_t max_segments = 10000;
  std::size_t max_fields_per_segment = 500;
};

class Segment {
 public:
  std::string_view name() const { return name_; }
  // HL7 field numbering: MSH-1 is the field separator itself, MSH-2 the encoding characters.
  std::string_view field(std::size_t n) const;
  std::size_t field_count() const { return fields_.size(); }
  std::string_view raw() const { return raw_; }

 private:
  friend class Message;
  std::string_view name_;
  std::string_view raw_;
  std::vector<std::string_view> fields_;  // fields_[0] = field 1 (or for MSH: MSH-2)
  bool is_msh_ = false;
  std::string_view field_separator_;
};

class Message {
 public:
  // Normalises line endings (CR, LF, CRLF), strips a UTF-8 BOM and blank lines, tolerates an
  // unterminated last segment and trailing spaces. Throws ParseError with a readable reason.
  static Message parse(std::string_view bytes, const Limits& limits = {});

  const Delimiters& delimiters() const { return delims_; }
  const std::vector<Segment>& segments() const { return segments_; }
  const Segment& msh() const { return segments_.front(); }
  const Segment* first(std::string_view name) const;
  const std::string& text() const { return text_; }  // normalised message text (UTF-8)
  bool transcoded_from_latin1() const { return transcoded_; }

  // Raw (still escaped) piece of a field: repetition (0-based), component and subcomponent
  // (1-based, as HL7 numbers them). Missing pieces are empty.
  std::string_view piece(std::string_view field, std::size_t repetition = 0,
                         std::size_t component = 1, std::size_t subcomponent = 1) const;
  std::vector<std::string_view> repetitions(std::string_view field) const;
  // The unescaped value of a piece.
  std::string value(std::string_view field, std::size_t repetition = 0, std::size_t component = 1,
                    std::size_t subcomponent = 1) const;
  // The unescaped value without surrounding white space.
  std::string trimmed(std::string_view field, std::size_t repetition = 0, std::size_t component = 1,
                      std::size_t subcomponent = 1) const;
  std::string unescape(std::string_view raw) const;

  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  Message(Message&&) = default;
  Message& operator=(Message&&) = default;

 private:
  Message() = default;
  // Whether `raw` holds the escape character (there is none when MSH-2 declares none).
  bool has_escape(std::string_view raw) const;
  std::string text_;
  Delimiters delims_;
  std::vector<Segment> segments_;
  bool transcoded_ = false;
};

// Escapes text for inclusion in a field using the standard delimiters |^~\&.
std::string escape(std::string_view text, const Delimiters& d = {});

}  // namespace markerwatch::hl7
