#include "hl7/oru_mapper.hpp"

#include <algorithm>

#include "core/numeric_value.hpp"
#include "core/quantity.hpp"
#include "core/result_status.hpp"
#include "core/text.hpp"

namespace markerwatch::hl7 {

namespace {

const std::vector<std::string_view> kSupportedVersions = {"2.2", "2.3", "2.3.1",
                                                          "2.4", "2.5", "2.5.1"};

struct Coded {
  std::string code, system;
};

// OBX-3 / OBR-4: the primary triplet and the alternate one (components 4-6).
std::vector<Coded> codings(const Message& msg, std::string_view field) {
  std::vector<Coded> out;
  for (std::size_t base : {1u, 4u}) {
    auto code = msg.trimmed(field, 0, base);
    if (!code.empty()) out.push_back({std::string(code), msg.trimmed(field, 0, base + 2)});
  }
  return out;
}

std::optional<LocalTimestamp> timestamp_of(const Message& msg, std::string_view field) {
  // The legacy 2nd component (degree of precision) is ignored.
  auto raw = msg.value(field, 0, 1);
  if (text::trim(raw).empty()) return std::nullopt;
  return parse_hl7_timestamp(raw);
}

// Picks PID-3's identifier per the configured type/authority.
std::optional<PatientKey> patient_of(const Message& msg, const Segment& pid,
                                     const MappingOptions& o) {
  auto field = pid.field(3);
  auto reps = msg.repetitions(field);
  for (std::size_t r = 0; r < reps.size(); ++r) {
    auto id = msg.trimmed(field, r, 1);
    if (id.empty()) continue;
    auto authority = msg.trimmed(field, r, 4, 1);
    if (authority.empty()) authority = msg.trimmed(field, r, 4, 2);
    auto type = msg.trimmed(field, r, 5);
    if (!o.patient_id_type.empty() && type != o.patient_id_type) continue;
    if (!o.patient_id_authority.empty() && authority != o.patient_id_authority) continue;
    return PatientKey{id, authority};
  }
  return std::nullopt;
}

struct OrderContext {
  std::string order_id;
  std::optional<LocalTimestamp> collected;
  std::string collected_raw;
  int sequence = 0;
};

struct ValueReading {
  std::optional<NumericValue> number;
  std::string error;
};

ValueReading read_value(const Message& msg, std::string_view type, std::string_view field) {
  ValueReading r;
  if (type == "NM" || type == "ST") {
    // Labs put censored numbers in NM (">35000") and numbers with comparators in ST ("< 1").
    // Only the first repetition counts: a number does not repeat.
    const auto reps = msg.repetitions(field);
    const auto text = msg.unescape(reps.empty() ? std::string_view{} : reps[0]);
    r.number = parse_numeric(text);
    if (!r.number) r.error = "value '" + text::printable(text, 40) + "' is not a number";
  } else if (type == "SN") {
    auto cmp_text = msg.trimmed(field, 0, 1);
    auto num = msg.trimmed(field, 0, 2);
    auto sep = msg.trimmed(field, 0, 3);
    auto num2 = msg.trimmed(field, 0, 4);
    auto cmp = comparator_from_string(cmp_text);
    if (!cmp) {
      r.error = "SN comparator '" + text::printable(cmp_text, 8) + "' is not <, >, <=, >= or =";
    } else if (!sep.empty() || !num2.empty()) {
      r.error = "SN value is a range or ratio, not a single quantity";
    } else if (auto n = parse_numeric(num); n && n->comparator == Comparator::none) {
      n->comparator = *cmp;
      r.number = n;
    } else {
      r.error = "SN value '" + text::printable(num, 40) + "' is not a number";
    }
  } else {
    r.error = "value type '" + text::printable(type, 8) + "' is not numeric";
  }
  return r;
}

std::string format_value_raw(const NumericValue& n) {
  return std::string(to_string(n.comparator)) + n.text;
}

}  // namespace

Header read_header(const Message& msg) {
  const auto& msh = msg.msh();
  Header h;
  h.sending_application = std::string(msh.field(3));
  h.sending_facility = std::string(msh.field(4));
  h.receiving_application = std::string(msh.field(5));
  h.receiving_facility = std::string(msh.field(6));
  h.message_type = std::string(msh.field(9));
  h.control_id = msg.trimmed(msh.field(10));
  h.processing_id = std::string(msh.field(11));
  h.version = msg.trimmed(msh.field(12));
  return h;
}

MappingResult map_oru(const Message& msg, const MappingOptions& o) {
  MappingResult out;
  out.header = read_header(msg);
  const auto& msh = msg.msh();
  auto reject = [&](Disposition d, std::string seg, int field, int code, std::string text) {
    out.disposition = d;
    out.issues.push_back({std::move(seg), 1, field, code, std::move(text)});
    return out;
  };

  const auto type = msg.value(msh.field(9), 0, 1);
  const auto trigger = msg.value(msh.field(9), 0, 2);
  if (type == "ACK") {
    out.disposition = Disposition::not_acknowledged;
    return out;
  }
  if (out.header.control_id.empty())
    return reject(Disposition::rejected_error, "MSH", 10, 101,
                  "MSH-10 (message control id) is empty");
  if (type != "ORU")
    return reject(Disposition::rejected_reject, "MSH", 9, 200,
                  "unsupported message type '" + text::printable(type, 10) + "'");
  if (trigger != "R01")
    return reject(Disposition::rejected_reject, "MSH", 9, 201,
                  "unsupported trigger event '" + text::printable(trigger, 10) + "'");
  if (std::find(kSupportedVersions.begin(), kSupportedVersions.end(), out.header.version) ==
      kSupportedVersions.end())
    return reject(Disposition::rejected_reject, "MSH", 12, 203,
                  "unsupported HL7 version '" + text::printable(out.header.version, 10) +
                      "' (2.2 to 2.5.1 accepted)");
  const auto processing = msg.trimmed(msh.field(11), 0, 1);
  if (std::find(o.accepted_processing_ids.begin(), o.accepted_processing_ids.end(), processing) ==
      o.accepted_processing_ids.end())
    return reject(Disposition::rejected_reject, "MSH", 11, 202,
                  "processing id '" + text::printable(processing, 4) + "' is not accepted here");

  const Segment* pid = nullptr;
  std::optional<PatientKey> patient;
  OrderContext order;
  bool in_specimen = false;
  int obx_in_order = 0;
  int obx_seq = 0, pid_seq = 0;
  const std::string sender = out.header.sender();

  for (const auto& seg : msg.segments()) {
    const auto name = seg.name();
    if (name == "PID") {
      pid = &seg;
      ++pid_seq;
      patient = patient_of(msg, seg, o);
    } else if (name == "OBR") {
      ++order.sequence;
      in_specimen = false;
      obx_in_order = 0;
      auto filler = msg.trimmed(seg.field(3));
      order.order_id = filler.empty() ? msg.trimmed(seg.field(2)) : filler;
      order.collected_raw = msg.trimmed(seg.field(7));
      order.collected = timestamp_of(msg, seg.field(7));
    } else if (name == "SPM") {
      // OBX after SPM describe the specimen, not a result; but some senders put SPM before the
      // order's result OBX (sample 11), so only an SPM that follows results opens that group.
      in_specimen = obx_in_order > 0;
    } else if (name == "OBX") {
      ++obx_seq;
      if (in_specimen) continue;
      ++obx_in_order;
      ++out.observations_seen;
      auto issue = [&](int field, int code, std::string text) {
        out.issues.push_back({"OBX", obx_seq, field, code, std::move(text)});
      };
      const MarkerDefinition* marker = nullptr;
      Coded chosen;
      auto codes = codings(msg, seg.field(3));
      // LOINC wins when either triplet carries it; else a configured local code.
      for (const auto& c : codes)
        if (is_loinc_system(c.system) && (marker = o.markers->find_by_code(c.code, c.system))) {
          chosen = c;
          break;
        }
      if (!marker)
        for (const auto& c : codes)
          if (!is_loinc_system(c.system) && (marker = o.markers->find_by_code(c.code, c.system))) {
            chosen = c;
            break;
          }
      if (!marker) {
        ++out.ignored_observations;
        continue;
      }
      const auto status_code = msg.trimmed(seg.field(11));
      const auto st = from_hl7_result_status(status_code);
      if (st.action == Hl7StatusAction::ignore) {
        ++out.ignored_observations;
        continue;
      }
      if (st.action == Hl7StatusAction::unknown) {
        issue(
            11, 103,
            "OBX-11 result status '" + text::printable(status_code, 4) + "' is missing or unknown");
        continue;
      }
      if (!patient) continue;  // reported once for the whole message below

      ResultRecord r;
      r.patient = *patient;
      r.marker = marker->name;
      r.method = msg.trimmed(seg.field(17), 0, 1);
      r.status = st.status;
      r.source = "hl7";
      r.obs_id = sender + "|" + order.order_id + "|" + chosen.system + ":" + chosen.code + "|" +
                 msg.trimmed(seg.field(4));

      // Collection time: OBX-14, else OBR-7.
      auto obx_time_raw = msg.trimmed(seg.field(14));
      std::optional<LocalTimestamp> when = timestamp_of(msg, seg.field(14));
      r.collected_raw = obx_time_raw;
      if (!when) {
        when = order.collected;
        r.collected_raw = order.collected_raw;
      }
      if (!when) {
        issue(14, 102,
              obx_time_raw.empty() && order.collected_raw.empty()
                  ? "no collection time (OBX-14 and OBR-7 are empty)"
                  : "collection time is not a valid HL7 timestamp");
        continue;
      }
      auto resolved = resolve(*when, *o.default_zone);
      if (!resolved) {
        issue(14, 102,
              "collection time '" + text::printable(r.collected_raw, 30) +
                  "' has no day (year or month only)");
        continue;
      }
      r.collected_at = resolved->utc;
      r.collected_date = resolved->local_date;
      r.collected_offset_assumed = resolved->offset_assumed;

      // Version time for corrections: OBR-22 is per order; we use OBX-19, else none.
      if (auto analysed = timestamp_of(msg, seg.field(19)))
        if (auto rt = resolve(*analysed, *o.default_zone)) r.received_at = rt->utc;

      const auto value_type = msg.trimmed(seg.field(2));
      const auto value_field = seg.field(5);
      r.unit_raw = msg.trimmed(seg.field(6), 0, 1);
      if (r.unit_raw.empty()) r.unit_raw = msg.trimmed(seg.field(6), 0, 2);
      r.reference_range = std::string(text::trim(msg.unescape(seg.field(7))));

      const bool removal = removes_value(r.status);
      if (removal && text::trim(value_field).empty()) {
        r.unit = marker->canonical_unit;
        out.results.push_back(std::move(r));
        continue;
      }
      auto reading = read_value(msg, value_type, value_field);
      if (!reading.number) {
        issue(5, 102, reading.error);
        continue;
      }
      r.value_raw = format_value_raw(*reading.number);
      if (r.unit_raw.empty()) {
        issue(6, 101, "no unit for " + marker->name + " (OBX-6 is empty)");
        continue;
      }
      const auto* mapping = o.markers->map_unit(*marker, r.unit_raw);
      if (!mapping) {
        issue(6, 103,
              "unit '" + text::printable(r.unit_raw, 20) + "' cannot be converted to " +
                  marker->canonical_unit + " for " + marker->name);
        continue;
      }
      apply_unit_mapping(r, *mapping, *reading.number);  // OBX-7 in prose gives no ULN
      out.results.push_back(std::move(r));
    }
  }

  if (!pid)
    return reject(Disposition::rejected_error, "PID", 0, 100,
                  "no patient: the PID segment is missing");
  if (!patient) {
    out.results.clear();
    return reject(Disposition::rejected_error, "PID", 3, 101,
                  o.patient_id_type.empty() && o.patient_id_authority.empty()
                      ? "no patient identifier in PID-3"
                      : "no PID-3 identifier matches the configured type/authority");
  }
  (void)pid_seq;
  if (out.observations_seen == 0)
    return reject(Disposition::rejected_error, "OBX", 0, 101, "message holds no observations");
  if (out.results.empty()) {
    out.disposition = out.issues.empty() ? Disposition::ignored : Disposition::rejected_error;
    return out;
  }
  out.disposition = Disposition::accepted;
  return out;
}

}  // namespace markerwatch::hl7
