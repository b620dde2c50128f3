#pragma once
// Which patient an identifier names: the rule the store applies to every incoming result and
// milestone, and replay applies to its files (README, *Patients*).
#include <cstdint>
#include <span>
#include <string>

#include "core/records.hpp"

namespace markerwatch {

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
