#include "hl7/ack.hpp"

#include "core/text.hpp"

namespace markerwatch::hl7 {

namespace {

std::string_view error_text(int code) {
  switch (code) {
    case 0:
      return "Message accepted";
    case 100:
      return "Segment sequence error";
    case 101:
      return "Required field missing";
    case 102:
      return "Data type error";
    case 103:
      return "Table value not found";
    case 200:
      return "Unsupported message type";
    case 201:
      return "Unsupported event code";
    case 202:
      return "Unsupported processing id";
    case 203:
      return "Unsupported version id";
    case 204:
      return "Unknown key identifier";
    case 205:
      return "Duplicate key identifier";
    case 206:
      return "Application record locked";
    default:
      return "Application internal error";
  }
}

// Header fields are copied without what could inject segments or fields into our ACK (line
// breaks, '|', control characters) and without bytes that are not UTF-8 (a message refused for
// its encoding still gets an ACK, which must not carry them on), at most 200 bytes of them and
// never part of a character.
std::string safe_field(std::string_view raw) {
  constexpr std::size_t kMaxBytes = 200;
  std::string out;
  for (std::size_t i = 0; i < raw.size();) {
    const auto len = text::utf8_sequence_at(raw, i);
    if (len == 0) {
      ++i;
      continue;
    }
    const auto c = static_cast<unsigned char>(raw[i]);
    if (len > 1 || (c >= 0x20 && raw[i] != '|')) {
      if (out.size() + len > kMaxBytes) break;
      out.append(raw.substr(i, len));
    }
    i += len;
  }
  return out;
}

}  // namespace

std::string_view to_string(AckCode c) {
  switch (c) {
    case AckCode::AA:
      return "AA";
    case AckCode::AE:
      return "AE";
    case AckCode::AR:
      return "AR";
  }
  return "AE";
}

std::string build_ack(const AckRequest& req) {
  const auto& h = req.header;
  const auto version = h.version.empty() ? std::string("2.5.1") : safe_field(h.version);
  const bool modern = !(version == "2.2" || version == "2.3" || version == "2.3.1");
  std::string ack = "MSH|^~\\&|" + safe_field(h.receiving_application) + "|" +
                    safe_field(h.receiving_facility) + "|" + safe_field(h.sending_application) +
                    "|" + safe_field(h.sending_facility) + "|" + req.timestamp + "||" +
                    (modern ? "ACK^R01^ACK" : "ACK^R01") + "|" + safe_field(req.control_id) + "|" +
                    (h.processing_id.empty() ? std::string("P") : safe_field(h.processing_id)) +
                    "|" + version + "\r";
  ack += "MSA|" + std::string(to_string(req.code)) + "|" + escape(safe_field(h.control_id));
  if (!req.text.empty()) ack += "|" + escape(req.text.substr(0, 80));
  ack += "\r";
  for (const auto& issue : req.issues) {
    const auto code = std::to_string(issue.code);
    const auto name = std::string(error_text(issue.code));
    const auto location = issue.segment + "^" + std::to_string(issue.sequence) + "^" +
                          (issue.field > 0 ? std::to_string(issue.field) : "");
    // ERR-1 (ELD, for 2.3/2.4 senders) and ERR-2..4/8 (2.5) together.
    ack += "ERR|" + location + "^" + code + "&" + name + "&HL70357|" + location + "|" + code + "^" +
           name + "^HL70357|E||||" + escape(text::printable(issue.text, 200)) + "\r";
  }
  return ack;
}

Header salvage_header(std::string_view bytes) {
  Header h;
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
  if (!bytes.starts_with("MSH") || bytes.size() < 4) return h;
  auto line = bytes.substr(0, bytes.find_first_of("\r\n"));
  auto fields = text::split(line, bytes[3]);
  auto get = [&](std::size_t n) -> std::string {
    return n - 1 < fields.size() ? std::string(fields[n - 1]) : std::string();
  };
  h.sending_application = get(3);
  h.sending_facility = get(4);
  h.receiving_application = get(5);
  h.receiving_facility = get(6);
  h.message_type = get(9);
  auto control = get(10);
  h.control_id = std::string(text::trim(control.substr(0, control.find('^'))));
  h.processing_id = get(11);
  auto version = get(12);
  h.version = std::string(text::trim(version.substr(0, version.find('^'))));
  return h;
}

}  // namespace markerwatch::hl7
