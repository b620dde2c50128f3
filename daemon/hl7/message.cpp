#include "hl7/message.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "core/text.hpp"

namespace markerwatch::hl7 {

namespace {

std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

// MSH-18 as declared, read from the raw header before the text is decoded.
std::string declared_charset(std::string_view header, char field_sep) {
  auto fields = text::split(header, field_sep);
  // fields[0] = "MSH", fields[1] = MSH-2, so MSH-n = fields[n - 1].
  if (fields.size() < 18) return {};
  auto cs = fields[17];
  auto rep = cs.find_first_of("~^");
  return std::string(text::trim(cs.substr(0, rep)));
}

bool is_latin1_charset(std::string_view cs) {
  return cs.starts_with("8859") || text::iequals(cs, "ISO-8859-1") || text::iequals(cs, "latin1");
}

// find_first_of("\r\n") without its per-character search of the set.
std::size_t line_end_from(std::string_view s, std::size_t pos) {
  for (; pos < s.size(); ++pos)
    if (s[pos] == '\r' || s[pos] == '\n') return pos;
  return std::string_view::npos;
}

bool valid_delimiter(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7F && !std::isalnum(u);
}

}  // namespace

std::string_view Segment::field(std::size_t n) const {
  if (is_msh_) {
    if (n == 1) return field_separator_;
    if (n == 0 || n - 2 >= fields_.size()) return {};
    return fields_[n - 2];
  }
  if (n == 0 || n - 1 >= fields_.size()) return {};
  return fields_[n - 1];
}

Message Message::parse(std::string_view bytes, const Limits& limits) {
  if (bytes.size() > limits.max_bytes)
    throw ParseError("message of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                     std::to_string(limits.max_bytes));
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
  while (!bytes.empty() && (bytes.front() == '\r' || bytes.front() == '\n')) bytes.remove_prefix(1);
  if (bytes.empty()) throw ParseError("empty message");
  if (bytes.starts_with("FHS") || bytes.starts_with("BHS"))
    throw ParseError(
        "an HL7 batch (FHS/BHS) where one message was expected: send one message per frame, or "
        "import the batch file with `markerwatch import`");
  if (!bytes.starts_with("MSH") || bytes.size() < 8)
    throw ParseError("message does not start with an MSH segment");

  Message m;
  m.delims_.field = bytes[3];
  if (!valid_delimiter(m.delims_.field)) throw ParseError("invalid field separator in MSH-1");
  auto enc_end = bytes.find(m.delims_.field, 4);
  auto line_end = bytes.find_first_of("\r\n");
  if (enc_end == std::string_view::npos ||
      (line_end != std::string_view::npos && enc_end > line_end))
    throw ParseError("MSH segment is truncated before MSH-2");
  auto enc = bytes.substr(4, enc_end - 4);
  if (enc.size() < 3 || enc.size() > 5)
    throw ParseError("MSH-2 must hold 3 to 5 encoding characters");
  for (char c : enc)
    if (!valid_delimiter(c) || c == m.delims_.field)
      throw ParseError("invalid encoding character in MSH-2");
  m.delims_.component = enc[0];
  m.delims_.repetition = enc[1];
  if (enc.size() == 3 && enc[2] != '\\') {
    // "^~&": no escape character declared; the third is the subcomponent separator.
    m.delims_.escape = '\0';
    m.delims_.subcomponent = enc[2];
  } else {
    m.delims_.escape = enc[2];
    m.delims_.subcomponent = enc.size() > 3 ? enc[3] : '\0';
  }

  if (text::is_valid_utf8(bytes)) {
    m.text_.assign(bytes);
  } else {
    auto header = bytes.substr(0, line_end == std::string_view::npos ? bytes.size() : line_end);
    auto cs = declared_charset(header, m.delims_.field);
    if (!is_latin1_charset(cs))
      throw ParseError(
          "message is not valid UTF-8 and MSH-18 declares " +
          (cs.empty() ? std::string("no character set") : "'" + text::printable(cs, 40) + "'"));
    m.text_ = latin1_to_utf8(bytes);
    m.transcoded_ = true;
  }
  if (m.text_.find('\0') != std::string::npos) throw ParseError("message contains NUL bytes");

  // Segment terminators: CR is standard; LF and CRLF are tolerated. Blank lines are dropped.
  std::string_view all(m.text_);
  std::size_t pos = 0;
  while (pos < all.size()) {
    auto end = line_end_from(all, pos);
    if (end == std::string_view::npos) end = all.size();
    auto line = all.substr(pos, end - pos);
    pos = end + 1;
    // Trailing spaces after the last field are a sender artefact, not data.
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (line.empty()) continue;
    if (m.segments_.size() >= limits.max_segments)
      throw ParseError("message has more than " + std::to_string(limits.max_segments) +
                       " segments");
    Segment seg;
    seg.raw_ = line;
    seg.fields_ = text::split(line, m.delims_.field);
    seg.name_ = seg.fields_[0];
    if (seg.name_.size() != 3 ||
        !std::all_of(seg.name_.begin(), seg.name_.end(),
                     [](unsigned char c) { return std::isupper(c) || std::isdigit(c); })) {
      // Junk segment names (file 06's "I") are kept in the text but not parsed as segments.
      if (m.segments_.empty()) throw ParseError("first segment is not MSH");
      seg.name_ = line.substr(0, std::min<std::size_t>(line.find(m.delims_.field), 8));
      seg.fields_.clear();
      m.segments_.push_back(std::move(seg));
      continue;
    }
    if (seg.fields_.size() - 1 > limits.max_fields_per_segment)
      throw ParseError("segment " + std::string(seg.name_) + " has more than " +
                       std::to_string(limits.max_fields_per_segment) + " fields");
    seg.fields_.erase(seg.fields_.begin());  // the name is not a field
    if (m.segments_.empty()) {
      seg.is_msh_ = true;
      seg.field_separator_ = all.substr(3, 1);
    } else if (seg.name_ == "MSH") {
      throw ParseError("a second MSH segment: one message per frame");
    }
    m.segments_.push_back(std::move(seg));
  }
  if (m.segments_.empty()) throw ParseError("empty message");
  return m;
}

const Segment* Message::first(std::string_view name) const {
  for (const auto& s : segments_)
    if (s.name() == name) return &s;
  return nullptr;
}

std::vector<std::string_view> Message::repetitions(std::string_view field) const {
  if (field.empty()) return {};
  return text::split(field, delims_.repetition);
}

std::string_view Message::piece(std::string_view field, std::size_t repetition,
                                std::size_t component, std::size_t subcomponent) const {
  // Found without splitting the levels into vectors: mapping a message asks for dozens of pieces.
  const auto rep = text::nth_part(field, delims_.repetition, repetition);
  if (!rep || component == 0) return {};
  const auto comp = text::nth_part(*rep, delims_.component, component - 1);
  if (!comp) return {};
  if (delims_.subcomponent == '\0') return subcomponent == 1 ? *comp : std::string_view{};
  if (subcomponent == 0) return {};
  return text::nth_part(*comp, delims_.subcomponent, subcomponent - 1).value_or(std::string_view{});
}

std::string Message::value(std::string_view field, std::size_t repetition, std::size_t component,
                           std::size_t subcomponent) const {
  return unescape(piece(field, repetition, component, subcomponent));
}

std::string Message::trimmed(std::string_view field, std::size_t repetition, std::size_t component,
                             std::size_t subcomponent) const {
  const auto raw = piece(field, repetition, component, subcomponent);
  // Most pieces hold no escape sequence: trimmed as they are, without an unescaped copy first.
  if (!has_escape(raw)) return std::string(text::trim(raw));
  return std::string(text::trim(unescape(raw)));
}

bool Message::has_escape(std::string_view raw) const {
  return delims_.escape != '\0' && raw.find(delims_.escape) != std::string_view::npos;
}

std::string Message::unescape(std::string_view raw) const {
  if (!has_escape(raw)) return std::string(raw);
  const char esc = delims_.escape;
  std::string out;
  out.reserve(raw.size());
  std::size_t i = 0;
  while (i < raw.size()) {
    if (raw[i] != esc) {
      out.push_back(raw[i++]);
      continue;
    }
    auto close = raw.find(esc, i + 1);
    if (close == std::string_view::npos || close == i + 1) {
      // An unterminated or empty escape passes through as literal text.
      out.push_back(raw[i++]);
      continue;
    }
    auto seq = raw.substr(i + 1, close - i - 1);
    bool known = true;
    if (seq == "F")
      out.push_back(delims_.field);
    else if (seq == "S")
      out.push_back(delims_.component);
    else if (seq == "T")
      out.push_back(delims_.subcomponent);
    else if (seq == "R")
      out.push_back(delims_.repetition);
    else if (seq == "E")
      out.push_back(esc);
    else if (seq == "H" || seq == "N") {  // highlighting carries no data
    } else if (seq == ".br")
      out.push_back('\n');
    else if (seq.starts_with('X') && seq.size() % 2 == 1 && seq.size() > 1) {
      std::string bytes;
      for (std::size_t k = 1; k + 1 < seq.size() + 1 && known; k += 2) {
        auto hex = seq.substr(k, 2);
        if (!std::isxdigit(static_cast<unsigned char>(hex[0])) ||
            !std::isxdigit(static_cast<unsigned char>(hex[1]))) {
          known = false;
          break;
        }
        bytes.push_back(static_cast<char>(std::stoi(std::string(hex), nullptr, 16)));
      }
      if (known) out += text::is_valid_utf8(bytes) ? bytes : latin1_to_utf8(bytes);
    } else if (seq.starts_with(".sp") || seq.starts_with(".in") || seq.starts_with(".ti") ||
               seq.starts_with(".sk") || seq == ".ce" || seq == ".fi" || seq == ".nf" ||
               seq.starts_with('C') || seq.starts_with('M') || seq.starts_with('Z')) {
      // Formatting and charset switches: no text of their own.
    } else {
      known = false;
    }
    if (!known || seq.size() > 64) {
      out.push_back(raw[i++]);
      continue;
    }
    i = close + 1;
  }
  return out;
}

std::string escape(std::string_view text, const Delimiters& d) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == d.escape)
      out += "\\E\\";
    else if (c == d.field)
      out += "\\F\\";
    else if (c == d.component)
      out += "\\S\\";
    else if (c == d.repetition)
      out += "\\R\\";
    else if (c == d.subcomponent)
      out += "\\T\\";
    else if (c == '\r' || c == '\n')
      out += "\\.br\\";
    else
      out.push_back(c);
  }
  return out;
}

}  // namespace markerwatch::hl7
