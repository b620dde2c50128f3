#include "core/milestone_kinds.hpp"

namespace markerwatch {

std::string_view to_string(MilestoneRole r) {
  switch (r) {
    case MilestoneRole::anchor:
      return "anchor";
    case MilestoneRole::curative_anchor:
      return "curative";
    case MilestoneRole::context:
      return "context";
  }
  return "context";
}

MilestoneKinds MilestoneKinds::builtin() {
  MilestoneKinds k;
  for (const char* a : {"tace", "haic_start", "systemic_start", "radiotherapy_start"})
    k.put(a, MilestoneRole::anchor);
  for (const char* c : {"resection", "cytoreductive_surgery", "metastasectomy", "ablation",
                        "transplant", "radical_prostatectomy", "orchiectomy"})
    k.put(c, MilestoneRole::curative_anchor);
  for (const char* x : {"systemic_stop", "haic_cycle", "antiviral_start", "vka_start", "vka_stop",
                        "imaging", "other"})
    k.put(x, MilestoneRole::context);
  return k;
}

std::optional<MilestoneRole> MilestoneKinds::role(std::string_view kind) const {
  auto it = kinds_.find(kind);
  if (it == kinds_.end()) return std::nullopt;
  return it->second;
}

}  // namespace markerwatch
