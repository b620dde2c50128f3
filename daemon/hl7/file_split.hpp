#pragma once
// An HL7 file as labs and interface engines write them: messages one after the other (any segment
// ending), optionally inside the batch envelope of HL7 v2 chapter 2 (FHS, BHS ... BTS, FTS: how
// lab archives and nightly exports are often written), and optionally still in their MLLP frames
// (0x0B ... 0x1C 0x0D, as a capture of the wire keeps them).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace markerwatch::hl7 {

struct FileMessage {
  std::size_t line = 0;   // 1-based line of its MSH segment
  std::string_view text;  // from MSH to the next message, envelope segment or frame end
};

struct FileProblem {
  std::size_t line = 0;
  std::string reason;
};

struct FileSplit {
  std::vector<FileMessage> messages;
  // What the envelope says against what the file holds (counts, a missing trailer: a file cut
  // short), and text outside any message; in line order.
  std::vector<FileProblem> problems;
};

// Splits a file into its messages. A message starts at a line that begins with "MSH" (after an
// MLLP start byte, if any); the envelope segments are not part of any message. Without envelope
// or frames, each message's text is what it always was: from its MSH up to the next MSH line.
FileSplit split_file(std::string_view content);

}  // namespace markerwatch::hl7
