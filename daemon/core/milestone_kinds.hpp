#pragma once
// The milestone kinds of RULES.md E5: anchors start an episode, curative anchors also set the
// expectation that the marker falls, context kinds start nothing.
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace markerwatch {

enum class MilestoneRole { anchor, curative_anchor, context };
std::string_view to_string(MilestoneRole r);

class MilestoneKinds {
 public:
  static MilestoneKinds builtin();
  void put(std::string kind, MilestoneRole role) { kinds_[std::move(kind)] = role; }
  std::optional<MilestoneRole> role(std::string_view kind) const;
  const std::map<std::string, MilestoneRole, std::less<>>& all() const { return kinds_; }

 private:
  std::map<std::string, MilestoneRole, std::less<>> kinds_;
};

}  // namespace markerwatch
