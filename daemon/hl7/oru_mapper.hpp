#pragma once
// ORU^R01 -> ResultRecords (INTEROP.md §1). Pure: the caller supplies the marker catalogue and the
// zone assumed for timestamps without an offset.
#include <optional>
#include <string>
#include <vector>

#include "core/markers.hpp"
#include "core/records.hpp"
#include "core/timestamp.hpp"
#include "hl7/message.hpp"

namespace markerwatch::hl7 {

struct MappingOptions {
  const MarkerCatalog* markers = nullptr;
  const ZoneRules* default_zone = nullptr;
  std::vector<std::string> accepted_processing_ids{"P"};
  std::string patient_id_type;       // PID-3 CX-5 to pick; empty = the first with an id
  std::string patient_id_authority;  // PID-3 CX-4 to pick; empty = any
};

// Header facts needed for the ACK, duplicate detection and the message log.
struct Header {
  std::string sending_application;  // MSH-3 raw
  std::string sending_facility;     // MSH-4 raw
  std::string receiving_application;
  std::string receiving_facility;
  std::string control_id;     // MSH-10, unescaped
  std::string message_type;   // MSH-9 raw
  std::string processing_id;  // MSH-11 raw
  std::string version;        // MSH-12 first component
  std::string sender() const { return sending_application + "|" + sending_facility; }
};

// A problem with one observation or the whole message, located for the ERR segment.
struct Issue {
  std::string segment;  // "OBX", "PID", "MSH"
  int sequence = 0;     // 1-based occurrence of that segment in the message
  int field = 0;
  int code = 207;  // HL7 table 0357
  std::string text;
};

enum class Disposition {
  accepted,          // stored (possibly with some observations in error)
  ignored,           // valid, but nothing for a configured marker
  rejected_error,    // AE: content problem
  rejected_reject,   // AR: unsupported type/version/processing id
  not_acknowledged,  // an inbound ACK: never answered
};

struct MappingResult {
  Header header;
  Disposition disposition = Disposition::accepted;
  std::vector<ResultRecord> results;
  std::vector<Issue> issues;  // observation errors, or the reason for a rejection
  int observations_seen = 0;
  int ignored_observations = 0;  // codes that map to no marker, pending or not-done results
};

Header read_header(const Message& msg);
MappingResult map_oru(const Message& msg, const MappingOptions& options);

}  // namespace markerwatch::hl7
