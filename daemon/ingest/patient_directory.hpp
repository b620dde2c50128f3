#pragma once
// Replay's patients, without a database: which patient a written "id" or "id^authority" names,
// by the rule the store applies (choose_patient), so that a replay of files links a milestone
// written without an authority to the results its lab sent with one, as an import does.
#include <cstddef>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/records.hpp"

namespace markerwatch::ingest {

class PatientDirectory {
 public:
  // The patient's number (0, 1, ... in order of first appearance). As an import does, a written
  // key is resolved once per file, where it first appears. Throws InputError (every time) when it
  // names several patients.
  std::size_t resolve(const PatientKey& written);
  // The key patient `number` was first known by (replay keeps its state under that key).
  const PatientKey& key(std::size_t number) const { return patients_[number].first; }
  // Keys are resolved again at their first appearance in the next file.
  void next_file() { resolved_.clear(); }

 private:
  struct Patient {
    PatientKey first;       // as first written: replay's key
    std::string authority;  // now: an authority-less patient takes the first one named for it
  };
  std::vector<Patient> patients_;
  std::unordered_map<std::string, std::vector<std::size_t>> by_identifier_;
  // written "id^authority" -> patient index, or the reason it names none
  std::unordered_map<std::string, std::variant<std::size_t, std::string>> resolved_;
};

}  // namespace markerwatch::ingest
