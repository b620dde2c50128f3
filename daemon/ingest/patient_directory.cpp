#include "ingest/patient_directory.hpp"

#include <algorithm>

#include "core/errors.hpp"
#include "core/patient_choice.hpp"
#include "engine/ledger.hpp"

namespace markerwatch::ingest {

std::size_t PatientDirectory::resolve(const PatientKey& written) {
  auto [at, first_time] = resolved_.try_emplace(patient_text(written), std::size_t{0});
  if (first_time) {
    auto& ids = by_identifier_[written.id];
    std::vector<PatientCandidate> candidates;
    candidates.reserve(ids.size());
    for (auto i : ids) candidates.push_back({static_cast<std::int64_t>(i), patients_[i].authority});
    std::sort(candidates.begin(), candidates.end(),
              [](const auto& a, const auto& b) { return a.authority < b.authority; });
    try {
      const auto choice = choose_patient(written, candidates);
      auto index = static_cast<std::size_t>(choice.id);
      switch (choice.kind) {
        case PatientChoice::Kind::existing:
          break;
        case PatientChoice::Kind::claim:
          patients_[index].authority = written.authority;
          break;
        case PatientChoice::Kind::create:
          index = patients_.size();
          patients_.push_back({written, written.authority});
          ids.push_back(index);
          break;
      }
      at->second = index;
    } catch (const InputError& e) {
      at->second = std::string(e.what());
    }
  }
  if (const auto* reason = std::get_if<std::string>(&at->second)) throw InputError(*reason);
  return std::get<std::size_t>(at->second);
}

}  // namespace markerwatch::ingest
