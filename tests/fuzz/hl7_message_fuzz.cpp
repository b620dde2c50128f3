// An HL7 v2 message as it arrives in an MLLP frame or a file, through what the daemon does with
// it before storing: parse, map ORU^R01, acknowledge. Properties:
// - parsing and mapping end in a mapping or a ParseError, nothing else: any other exception
//   leaves the message unacknowledged, and the sender would resend it for ever;
// - every result is whole (fuzz_support.hpp);
// - the ACK parses again, holds MSH, MSA and one ERR per issue and nothing injected, answers
//   the code it was asked to, echoes a plain MSH-10 (UTF-8, printable, no '|') exactly in
//   MSA-2, and is UTF-8 itself;
// - read as an HL7 file (hl7::split_file), its messages are views of it in file order that do
//   not overlap, each starting with MSH, and every message or problem names a line of it.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/text.hpp"
#include "fuzz_support.hpp"
#include "hl7/ack.hpp"
#include "hl7/file_split.hpp"
#include "hl7/message.hpp"
#include "hl7/oru_mapper.hpp"
#include "ingest/pipeline.hpp"

using namespace markerwatch;

namespace {

bool plain(std::string_view id) {
  if (id.size() > 199 || !text::is_valid_utf8(id)) return false;
  for (char c : id)
    if (static_cast<unsigned char>(c) < 0x20 || c == '|') return false;
  return true;
}

void require_orderly_ack(const hl7::AckRequest& req) {
  const auto text = hl7::build_ack(req);
  fuzz::require(text::is_valid_utf8(text), "our ACK is not UTF-8");
  auto ack = [&] {
    try {
      return hl7::Message::parse(text);
    } catch (const hl7::ParseError& e) {
      fuzz::fail(std::string("our ACK does not parse: ") + e.what());
    }
  }();
  const auto& segments = ack.segments();
  fuzz::require(segments.size() == 2 + req.issues.size(), "the ACK has other segments than asked");
  fuzz::require(segments[1].name() == "MSA", "the ACK's second segment is not MSA");
  for (std::size_t i = 2; i < segments.size(); ++i)
    fuzz::require(segments[i].name() == "ERR", "the ACK holds a segment other than ERR");
  fuzz::require(ack.value(segments[1].field(1)) == hl7::to_string(req.code),
                "MSA-1 is not the code asked for");
  if (plain(req.header.control_id))
    fuzz::require(ack.value(segments[1].field(2)) == req.header.control_id,
                  "MSA-2 does not echo MSH-10");
}

void require_orderly_split(std::string_view file) {
  const auto split = hl7::split_file(file);
  std::size_t lines = 1;
  for (char c : file) lines += c == '\n' || c == '\r';  // at least as many as the file has
  const char* after_last = file.data();
  for (const auto& m : split.messages) {
    fuzz::require(
        m.text.data() >= after_last && m.text.data() + m.text.size() <= file.data() + file.size(),
        "a message of the file is not a view of it, in order and apart");
    fuzz::require(m.text.starts_with("MSH"), "a message of the file does not start with MSH");
    fuzz::require(m.line >= 1 && m.line <= lines, "a message names no line of the file");
    after_last = m.text.data() + m.text.size();
  }
  for (const auto& p : split.problems) {
    fuzz::require(p.line >= 1 && p.line <= lines, "a problem names no line of the file");
    fuzz::require(!p.reason.empty() && text::is_valid_utf8(p.reason),
                  "a problem's reason is empty or not UTF-8");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const auto options = ingest::hl7_mapping(fuzz::sample_settings());
  require_orderly_split(raw);

  hl7::AckRequest ack;
  ack.control_id = "MW1";
  ack.timestamp = "20261205000000+0000";
  try {
    const auto message = hl7::Message::parse(raw);
    const auto mapped = hl7::map_oru(message, options);
    for (const auto& r : mapped.results) fuzz::require_whole(r);
    ack.header = mapped.header;
    ack.issues = mapped.issues;
    ack.code = mapped.disposition == hl7::Disposition::accepted          ? hl7::AckCode::AA
               : mapped.disposition == hl7::Disposition::rejected_reject ? hl7::AckCode::AR
                                                                         : hl7::AckCode::AE;
  } catch (const hl7::ParseError& e) {
    ack.header = hl7::salvage_header(raw);
    ack.code = hl7::AckCode::AE;
    ack.issues.push_back({"MSH", 1, 0, 102, e.what()});
  }
  require_orderly_ack(ack);
  return 0;
}
