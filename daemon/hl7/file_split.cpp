#include "hl7/file_split.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include "core/text.hpp"

namespace markerwatch::hl7 {

namespace {

constexpr char kFrameStart = 0x0B;
constexpr char kFrameEnd = 0x1C;

// A segment with this id: the id, then a field separator or nothing (not "BTSX").
bool is_segment(std::string_view segment, std::string_view id) {
  return segment.starts_with(id) && (segment.size() == id.size() ||
                                     !std::isalnum(static_cast<unsigned char>(segment[id.size()])));
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == kFrameStart || c == kFrameEnd;
  });
}

// A trailer's first field (BTS-1, FTS-1), empty when it has none. Its field separator is the
// character after the segment id, as in every segment.
std::string_view first_field(std::string_view segment) {
  if (segment.size() <= 4) return {};
  const auto rest = segment.substr(4);
  return text::trim(rest.substr(0, rest.find(segment[3])));
}

std::optional<std::size_t> count_in(std::string_view field) {
  if (field.empty() || field.size() > 9) return std::nullopt;
  std::size_t n = 0;
  for (char c : field) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

class Splitter {
 public:
  explicit Splitter(std::string_view content) : content_(content) {}

  // One piece of the file: a line, or the part of a line before an MLLP frame's end byte.
  void piece(std::size_t begin, std::size_t end, std::size_t line, bool frame_ends) {
    auto start = begin;
    while (start < end && content_[start] == kFrameStart) ++start;
    const auto segment = content_.substr(start, end - start);
    if (segment.starts_with("MSH")) {
      close(begin);
      open_ = true;
      open_start_ = start;
      open_line_ = line;
      ++batch_messages_;
      stray_ = false;
    } else if (is_segment(segment, "FHS") || is_segment(segment, "BHS") ||
               is_segment(segment, "BTS") || is_segment(segment, "FTS")) {
      close(begin);
      envelope(segment, line);
      stray_ = false;
    } else if (!open_ && !blank(segment) && !stray_) {
      problem(line, "text outside any message is ignored (no MSH segment starts it)");
      stray_ = true;  // once per run of such lines
    }
    if (frame_ends) close(end);
  }

  FileSplit finish() {
    close(content_.size());
    if (batch_line_) unclosed_batch();
    if (file_line_) unclosed_file();
    std::stable_sort(out_.problems.begin(), out_.problems.end(),
                     [](const FileProblem& a, const FileProblem& b) { return a.line < b.line; });
    return std::move(out_);
  }

 private:
  void close(std::size_t at) {
    if (!open_) return;
    out_.messages.push_back({open_line_, content_.substr(open_start_, at - open_start_)});
    open_ = false;
  }

  void envelope(std::string_view segment, std::size_t line) {
    const auto id = segment.substr(0, 3);
    if (id == "FHS") {
      if (batch_line_) unclosed_batch();
      if (file_line_) unclosed_file();
      file_line_ = line;
      file_batches_ = 0;
      batch_messages_ = 0;
    } else if (id == "BHS") {
      if (batch_line_) unclosed_batch();
      batch_line_ = line;
      ++file_batches_;
      batch_messages_ = 0;
    } else if (id == "BTS") {
      if (!batch_line_) ++file_batches_;  // a batch without its header: the trailer still ends it
      check_count(first_field(segment), batch_messages_, line, "BTS-1", "message(s)", "this batch");
      batch_line_ = 0;
      batch_messages_ = 0;
    } else {  // FTS
      if (batch_line_) unclosed_batch();
      check_count(first_field(segment), file_batches_, line, "FTS-1", "batch(es)", "this file");
      file_line_ = 0;
      file_batches_ = 0;
      batch_messages_ = 0;
    }
  }

  void check_count(std::string_view field, std::size_t held, std::size_t line,
                   const std::string& name, const std::string& what, const std::string& of) {
    if (field.empty()) return;  // optional: nothing to check against
    const auto count = count_in(field);
    if (!count)
      problem(line, name + " '" + text::printable(field, 20) + "' is not a count");
    else if (*count != held)
      problem(line, name + " gives " + std::to_string(*count) + " " + what + " for " + of +
                        ", the file holds " + std::to_string(held) +
                        ": some may be missing, or the count is wrong");
  }

  void unclosed_batch() {
    problem(batch_line_,
            "the batch that starts here (BHS) has no trailer (BTS): the file may have been cut "
            "short");
    batch_line_ = 0;
  }

  void unclosed_file() {
    problem(file_line_,
            "the file header (FHS) here has no trailer (FTS): the file may have been cut short");
    file_line_ = 0;
  }

  void problem(std::size_t line, std::string reason) {
    out_.problems.push_back({line, std::move(reason)});
  }

  std::string_view content_;
  FileSplit out_;
  bool open_ = false, stray_ = false;
  std::size_t open_start_ = 0, open_line_ = 0;
  std::size_t file_line_ = 0, batch_line_ = 0;  // 0: none open
  std::size_t file_batches_ = 0, batch_messages_ = 0;
};

}  // namespace

FileSplit split_file(std::string_view content) {
  if (content.starts_with("\xEF\xBB\xBF")) content.remove_prefix(3);
  Splitter splitter(content);
  std::size_t line = 1, begin = 0;
  for (std::size_t pos = 0; pos < content.size(); ++pos) {
    const char c = content[pos];
    if (c != '\n' && c != '\r' && c != kFrameEnd) continue;
    splitter.piece(begin, pos, line, c == kFrameEnd);
    // CR, LF and CRLF each end one line.
    if (c == '\n' || (c == '\r' && (pos + 1 >= content.size() || content[pos + 1] != '\n'))) ++line;
    begin = pos + 1;
  }
  splitter.piece(begin, content.size(), line, false);
  return splitter.finish();
}

}  // namespace markerwatch::hl7
