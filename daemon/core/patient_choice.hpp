#pragma once
// Which patient an identifier names: the patient as people and files write it, and the rule the
// store applies to every incoming result and milestone, and replay to its files (README,
// *Patients*).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/records.hpp"

namespace markerwatch {

// "id" or "id^authority" as written in a CSV row, a JSON row or a command line, trimmed: the
// assigning authority, when given, names the patient as HL7 PID-3 (CX-4) and FHIR identifier
// systems do. Throws InputError naming `field` when it is empty, not UTF-8, over 200 bytes, has
// control characters, has no identifier ("^authority"), or has an empty or second authority
// ("id^", "id^a^b").
PatientKey parse_patient_key(std::string_view text, std::string_view field);

struct PatientCandidate {
  std::int64_t id = 0;
  std::string authority;
};

struct PatientChoice {
  enum class Kind {
    existing,  // `id` is the patient
    claim,     // `id`, stored without an authority, takes the key's authority
    create,    // a new patient with the key as given
  };
  Kind kind = Kind::create;
  std::int64_t id = 0;
};

// `candidates`: the known patients with key.id, ordered by authority, at least the one with the
// key's authority and the one without an authority (when they exist) and, for a key without an
// authority, up to three. A key with an authority names that patient, else claims the one stored
// without an authority, else is new; a key without one names the patient without an authority,
// else the only patient with the identifier, else is new. Throws InputError when it names
// several patients (two or more authorities and none without).
PatientChoice choose_patient(const PatientKey& key, std::span<const PatientCandidate> candidates);

}  // namespace markerwatch
