#pragma once
// Original-mode acknowledgements (INTEROP.md §2.2): MSA-1 AA/AE/AR, MSA-2 = the received MSH-10,
// sender and receiver swapped, version and processing id echoed, ERR segments for AE/AR.
#include <string>
#include <vector>

#include "hl7/oru_mapper.hpp"

namespace markerwatch::hl7 {

enum class AckCode { AA, AE, AR };
std::string_view to_string(AckCode c);

struct AckRequest {
  Header header;  // of the received message (may be partly empty if it did not parse)
  AckCode code = AckCode::AA;
  std::string control_id;  // MSH-10 of the ACK itself, unique
  std::string timestamp;   // MSH-7 of the ACK, HL7 TS
  std::string text;        // MSA-3 (short)
  std::vector<Issue> issues;
};

// Returns the ACK message, segments separated by CR, without MLLP framing.
std::string build_ack(const AckRequest& req);

// Best-effort header for a message that did not parse, so the ACK can still echo MSH-10.
Header salvage_header(std::string_view bytes);

}  // namespace markerwatch::hl7
