#include "engine/evaluate.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <tuple>

#include "core/calendar.hpp"

namespace markerwatch::engine {

namespace {

constexpr int kBaselineDays = 30;
constexpr int kNodeclineFrom = 14, kNodeclineTo = 90;
constexpr double kNonormMinDays = 60, kNonormWindow = 90;
constexpr int kDoublingWindow = 365, kDoublingMinSpan = 56;

bool eq(double a, double b) {
  return quantities_equal(a, b);
}
bool is_less(Comparator c) {
  return c == Comparator::less || c == Comparator::less_equal;
}
bool is_greater(Comparator c) {
  return c == Comparator::greater || c == Comparator::greater_equal;
}

// E4: a predicate holds only when it is certain.
bool certainly_ge(const Value& v, double t) {
  if (is_less(v.comparator)) return false;
  return v.value >= t || eq(v.value, t);
}
bool certainly_gt(const Value& v, double t) {
  if (is_less(v.comparator)) return false;
  if (is_greater(v.comparator)) return v.value >= t || eq(v.value, t);
  return v.value > t && !eq(v.value, t);
}
bool certainly_le(const Value& v, double t) {
  if (is_greater(v.comparator)) return false;
  return v.value <= t || eq(v.value, t);
}
bool certainly_lt(const Value& v, double t) {
  if (is_greater(v.comparator)) return false;
  if (is_less(v.comparator)) return v.value <= t || eq(v.value, t);
  return v.value < t && !eq(v.value, t);
}

DatedValue dated(const Value& v) {
  return {v.value, v.comparator, v.day};
}

// RULES.md E7: a date's values by value, then observation id. The comparator and the reference
// limit then order values alike in those, so that they take one order however they were read (the
// store lists a series by date and arrival, a replay's ledger by arrival with corrections moved
// last): which of them is the baseline, or a candidate, must not depend on it.
bool value_order(const Value* a, const Value* b) {
  return std::tie(a->day, a->value, a->obs_id, a->comparator, a->own_uln) <
         std::tie(b->day, b->value, b->obs_id, b->comparator, b->own_uln);
}

// A note's key is its identity in the alert log: the same finding is logged once. Its head is
// "code|marker|method|"; the parts that tell findings apart follow. Keys are built on every
// evaluation (most are found logged already), so the series' part is built once per series.
std::string series_key_part(const std::string& marker, const std::string& method) {
  std::string part;
  part.reserve(marker.size() + method.size() + 3);
  part.append(1, '|').append(marker).append(1, '|').append(method).append(1, '|');
  return part;
}
void start_note_key(std::string& key, std::string_view code, std::string_view series_part) {
  key.assign(code).append(series_part);
}

// A note key's tail: its parts joined by '|'.
void append_key_part(std::string& key, int part, bool first) {
  char text[16] = {'|'};
  const auto [end, ec] = std::to_chars(text + 1, text + sizeof text, part);
  key.append(first ? text + 1 : text, end);
}
void append_key_part(std::string& key, std::string_view part, bool first) {
  if (!first) key.push_back('|');
  key.append(part);
}

Note make_note(NoteKind kind, const char* code, const std::string& marker,
               const std::string& method, int day, std::string key) {
  Note n;
  n.kind = kind;
  n.code = code;
  n.marker = marker;
  n.method = method;
  n.day = day;
  n.key = std::move(key);
  return n;
}

class SeriesEvaluator {
 public:
  SeriesEvaluator(const std::string& marker, const std::string& method,
                  std::vector<const Value*> series, const MarkerDefinition& definition,
                  const MarkerMilestones& milestones, const NoteLogged* logged,
                  std::vector<EpisodeMemo>* memos, Evaluation& out)
      : marker_(marker),
        method_(method),
        series_(std::move(series)),
        definition_(definition),
        anchors_(milestones.anchors),
        base_params_(milestones.base_params),
        vka_(milestones.vka),
        logged_(logged),
        memos_(memos),
        out_(out) {
    if (memos_ && memos_->size() < anchors_.size() + 1) memos_->resize(anchors_.size() + 1);
  }

  void run() {
    episode_values_.reserve(series_.size());
    // Episode k runs after anchor k up to and including the next anchor's day (a value on an
    // anchor day is pre-anchor). Index -1 is the episode before the first anchor.
    for (int k = -1; k < static_cast<int>(anchors_.size()); ++k) {
      const AnchorGroup* group = k >= 0 ? &anchors_[static_cast<std::size_t>(k)] : nullptr;
      const std::optional<int> from = group ? std::optional(group->anchor.day) : std::nullopt;
      const std::optional<int> to =
          k + 1 < static_cast<int>(anchors_.size())
              ? std::optional(anchors_[static_cast<std::size_t>(k + 1)].anchor.day)
              : std::nullopt;
      episode_values_.clear();
      for (const auto* v : series_)
        if ((!from || v->day > *from) && (!to || v->day <= *to)) episode_values_.push_back(v);
      run_episode(group, memos_ ? &(*memos_)[static_cast<std::size_t>(k + 1)] : nullptr);
    }
  }

 private:
  // The ULN a value is judged against in the current episode (RULES.md §1 precedence).
  std::optional<double> uln_of(const Value& v) const {
    switch (params_->uln_source) {
      case UlnSource::fixed:
        return params_->fixed_uln;
      case UlnSource::none:
        return std::nullopt;
      case UlnSource::results:
        break;
    }
    return v.own_uln.value_or(definition_.uln);
  }
  bool normal(const Value& v) const {
    auto uln = uln_of(v);
    return uln && certainly_le(v, *uln);
  }
  const Value& at(std::size_t i) const { return *episode_values_[i]; }
  int days_since_anchor(const Value& v) const { return v.day - anchor_->day; }

  // `memo`: the episode's as last evaluated, used when its values are still the same, and kept
  // up to date otherwise (nullptr: no cache).
  void run_episode(const AnchorGroup* group, EpisodeMemo* memo) {
    anchor_ = group ? std::optional(group->anchor) : std::nullopt;
    params_ = group ? group->params : base_params_;
    systemic_ = group && group->systemic;
    baseline_ = nullptr;
    if (anchor_)
      for (const auto* v : series_)
        if (v->day >= anchor_->day - kBaselineDays && v->day <= anchor_->day) baseline_ = v;

    std::vector<Firing> computed;
    const std::vector<Firing>* kept = memo && still_valid(*memo) ? &memo->firings : nullptr;
    if (!kept) {
      new_note_keys_ = memo ? &memo->new_note_keys : nullptr;
      if (new_note_keys_) new_note_keys_->clear();
      computed = episode_firings();
      new_note_keys_ = nullptr;
      if (memo) remember(*memo, computed);
      kept = &computed;
    }
    for (auto cls : {AlertClass::progression, AlertClass::residual}) {
      std::vector<Firing> of_class;
      for (const auto& f : *kept)
        if (class_of(f.rule) == cls) of_class.push_back(f);
      build_alerts(cls, std::move(of_class));
    }
  }

  // The episode's firings, with the notes found on the way.
  std::vector<Firing> episode_firings() {
    std::vector<Firing> firings;
    progression_firings(firings);
    if (anchor_ && anchor_->curative && params_->half_life_days && baseline_ &&
        baseline_->comparator == Comparator::none) {
      nodecline_firing(firings);
      nonorm_firing(firings);
    }
    if (anchor_) decline_notes();
    // VKA suppressor: the firing is logged, never notified, and takes no alert.
    std::vector<Firing> kept;
    for (auto& f : firings) {
      if (params_->vka_suppressor && (vka_.active(f.event_day) || vka_.active(f.fire_day))) {
        suppressed_note(f);
        continue;
      }
      kept.push_back(f);
    }
    return kept;
  }

  static EpisodeMemo::Input input_of(const Value& v) {
    return {v.day, v.value, v.comparator, v.own_uln};
  }
  // The memo's firings are this episode's: the same baseline and values (the milestones and the
  // configuration are checked by the cache), and no note that the memo's evaluation found is
  // missing from the log, which only grows: a fresh evaluation would find only logged notes.
  bool still_valid(const EpisodeMemo& memo) const {
    if (!memo.valid || memo.values.size() != episode_values_.size()) return false;
    if (static_cast<bool>(memo.baseline) != (baseline_ != nullptr) ||
        (baseline_ && !(*memo.baseline == input_of(*baseline_))))
      return false;
    for (std::size_t i = 0; i < episode_values_.size(); ++i)
      if (!(memo.values[i] == input_of(at(i)))) return false;
    return std::all_of(memo.new_note_keys.begin(), memo.new_note_keys.end(),
                       [this](const std::string& key) { return logged_ && (*logged_)(key); });
  }
  void remember(EpisodeMemo& memo, const std::vector<Firing>& firings) const {
    memo.valid = true;
    memo.baseline = baseline_ ? std::optional(input_of(*baseline_)) : std::nullopt;
    memo.values.clear();
    for (const auto* v : episode_values_) memo.values.push_back(input_of(*v));
    memo.firings = firings;
  }

  // E6: nadir over {B} and the episode values dated strictly before day `before`.
  std::optional<DatedValue> nadir_before(int before) const {
    std::optional<DatedValue> best;
    if (baseline_) consider_for_nadir(best, *baseline_);
    for (const auto* v : episode_values_)
      if (v->day < before) consider_for_nadir(best, *v);
    return best;
  }
  // One more value seen, in day order, for the E6 nadir `best`.
  static void consider_for_nadir(std::optional<DatedValue>& best, const Value& v) {
    if (is_greater(v.comparator)) return;  // `>X` says nothing about the minimum
    if (!best || (v.value < best->value && !eq(v.value, best->value))) {
      best = dated(v);
    } else if (eq(v.value, best->value) && v.day > best->day) {
      best->day = v.day;  // the nadir date is the latest date attaining the minimum
    }
  }

  template <typename Pred>
  bool any_before(int before, bool include_baseline, Pred pred) const {
    if (include_baseline && baseline_ && pred(*baseline_)) return true;
    for (const auto* v : episode_values_)
      if (v->day < before && pred(*v)) return true;
    return false;
  }

  // E7: the confirmer of candidate i, if every value up to it keeps the predicate.
  enum class Confirmation { confirmed, pending, dropped };
  template <typename Pred>
  std::pair<Confirmation, std::optional<std::size_t>> confirm(std::size_t i, int c,
                                                              Pred pred) const {
    if (c == 0) return {Confirmation::confirmed, std::nullopt};
    const int day = at(i).day;
    for (std::size_t j = i + 1; j < episode_values_.size(); ++j) {
      if (at(j).day == day) continue;  // same-day values are neither intermediates nor confirmers
      if (!pred(at(j))) return {Confirmation::dropped, std::nullopt};
      if (at(j).day >= day + c) return {Confirmation::confirmed, j};
    }
    return {Confirmation::pending, std::nullopt};
  }

  template <typename Pred>
  void try_fire(Rule rule, std::size_t i, int c, const std::optional<DatedValue>& nadir, Pred pred,
                std::vector<Firing>& firings) {
    auto [state, confirmer] = confirm(i, c, pred);
    if (state != Confirmation::confirmed) return;
    Firing f{rule, i, confirmer, at(i).day, confirmer ? at(*confirmer).day : at(i).day, nadir};
    firings.push_back(f);
  }

  void progression_firings(std::vector<Firing>& firings) {
    const auto& p = *params_;
    // What the rules look back at over {B} and the values dated before the current one (the E6
    // nadir, "normalised before", a value certainly below the absolute threshold), carried
    // forward day by day instead of rescanned for every value: the values are in day order.
    std::optional<DatedValue> nadir;
    bool normalized_before = false, below_absolute = false;
    auto look_back_at = [&](const Value& x) {
      consider_for_nadir(nadir, x);
      normalized_before = normalized_before || normal(x);
      below_absolute = below_absolute || (p.absolute && certainly_lt(x, p.absolute->threshold));
    };
    if (baseline_) look_back_at(*baseline_);
    std::size_t seen = 0;  // episode values [0, seen) are in the look-back state
    for (std::size_t i = 0; i < episode_values_.size(); ++i) {
      const Value& v = at(i);
      while (seen < i && at(seen).day < v.day) look_back_at(at(seen++));
      const bool guarded = anchor_ && systemic_ && p.flare_guard_days > 0 &&
                           days_since_anchor(v) >= 1 &&
                           days_since_anchor(v) <= p.flare_guard_days - 1;
      bool candidate = false;
      std::vector<Firing> here;
      if (p.rise && nadir && !(p.rise->only_if_never_normalized && normalized_before)) {
        const double n = nadir->value;
        const double threshold = std::max(n * (1 + p.rise->pct / 100.0), n + p.rise->abs);
        auto pred = [threshold](const Value& x) { return certainly_ge(x, threshold); };
        if (pred(v)) {
          candidate = true;
          try_fire(Rule::rise, i, p.rise->confirm_days, nadir, pred, here);
        }
      }
      if (p.renorm && normalized_before) {
        const double k = p.renorm->k;
        auto pred = [this, k](const Value& x) {
          auto uln = uln_of(x);
          return uln && certainly_gt(x, *uln) && certainly_ge(x, k * *uln);
        };
        if (pred(v)) {
          candidate = true;
          try_fire(Rule::renorm, i, p.renorm->confirm_days, nadir, pred, here);
        }
      }
      if (p.absolute) {
        const double t = p.absolute->threshold;
        auto pred = [t](const Value& x) { return certainly_ge(x, t); };
        if (pred(v) && below_absolute) {
          candidate = true;
          try_fire(Rule::absolute, i, p.absolute->confirm_days, nadir, pred, here);
        }
      }
      if (guarded) {
        if (candidate) flare_note(v, p.flare_guard_days);
        continue;
      }
      firings.insert(firings.end(), here.begin(), here.end());
    }
  }

  void nodecline_firing(std::vector<Firing>& firings) {
    const Value& b = *baseline_;
    auto uln_b = uln_of(b);
    if (!uln_b || !certainly_gt(b, 2 * *uln_b)) return;
    for (std::size_t i = 0; i < episode_values_.size(); ++i) {
      const int d = days_since_anchor(at(i));
      if (d < kNodeclineFrom || d > kNodeclineTo) continue;
      auto uln = uln_of(at(i));
      if (uln && certainly_gt(at(i), *uln) && certainly_ge(at(i), 0.5 * b.value))
        try_fire(
            Rule::nodecline, i, 0, nadir_before(at(i).day), [](const Value&) { return true; },
            firings);
      return;  // only the first value in the window counts
    }
  }

  void nonorm_firing(std::vector<Firing>& firings) {
    const Value& b = *baseline_;
    auto uln_b = uln_of(b);
    if (!uln_b || *uln_b <= 0 || !certainly_gt(b, *uln_b)) return;
    const double dmax =
        std::max(kNonormMinDays, 2 * *params_->half_life_days * std::log2(b.value / *uln_b));
    for (std::size_t i = 0; i < episode_values_.size(); ++i) {
      const double d = days_since_anchor(at(i));
      if (d < dmax || d > dmax + kNonormWindow) continue;
      auto above = [this](const Value& x) {
        auto uln = uln_of(x);
        return uln && certainly_gt(x, *uln);
      };
      if (above(at(i)) && !any_before(at(i).day, false, [&](const Value& x) { return normal(x); }))
        try_fire(Rule::nonorm, i, params_->nonorm_confirm_days, nadir_before(at(i).day), above,
                 firings);
      return;  // only the first value in the window is a candidate
    }
  }

  // A_DT: least-squares fit of ln(v) over the uncensored episode values from the nadir date up to
  // the confirmer, within 365 days before it.
  std::optional<double> doubling_time(const Firing& f) const {
    if (!f.nadir) return std::nullopt;
    const std::size_t last = f.confirmer.value_or(f.candidate);
    const int fire_day = at(last).day;
    std::vector<std::pair<double, double>> points;
    for (std::size_t j = 0; j <= last; ++j) {
      const Value& v = at(j);
      if (v.comparator != Comparator::none || v.value <= 0) continue;
      if (v.day < f.nadir->day || v.day < fire_day - kDoublingWindow) continue;
      points.emplace_back(v.day, std::log(v.value));
    }
    if (points.size() < 3 || points.back().first - points.front().first < kDoublingMinSpan)
      return std::nullopt;
    double mx = 0, my = 0;
    for (auto [x, y] : points) mx += x, my += y;
    mx /= static_cast<double>(points.size());
    my /= static_cast<double>(points.size());
    double sxy = 0, sxx = 0;
    for (auto [x, y] : points) sxy += (x - mx) * (y - my), sxx += (x - mx) * (x - mx);
    if (sxx <= 0) return std::nullopt;
    const double slope = sxy / sxx;
    if (slope <= 0) return std::nullopt;
    return std::log(2.0) / slope;
  }

  // RESOLVE: the second of two consecutive normal values of the series after `after`.
  std::optional<int> resolution_after(int after) const {
    if (params_->uln_source == UlnSource::none) return std::nullopt;
    bool previous_normal = false;
    for (const auto* v : series_) {
      if (v->day <= after) continue;
      const bool is_normal = normal(*v);
      if (is_normal && previous_normal) return v->day;
      previous_normal = is_normal;
    }
    return std::nullopt;
  }

  static std::tuple<int, int, Rule> firing_order(const Firing& f) {
    return {f.fire_day, f.event_day, f.rule};
  }

  void build_alerts(AlertClass cls, std::vector<Firing> firings) {
    std::sort(firings.begin(), firings.end(),
              [](const auto& a, const auto& b) { return firing_order(a) < firing_order(b); });
    std::optional<int> resolved_before;
    for (int arm = 0;; ++arm) {
      std::vector<const Firing*> eligible;
      for (const auto& f : firings)
        if (!resolved_before || f.event_day > *resolved_before) eligible.push_back(&f);
      if (eligible.empty()) return;
      const Firing& first = *eligible.front();
      Alert a;
      a.identity = {marker_, method_, cls, anchor_ ? std::optional(anchor_->day) : std::nullopt,
                    arm};
      a.anchor = anchor_;
      a.event_day = first.event_day;
      a.fire_day = first.fire_day;
      a.resolved_day = resolution_after(first.fire_day);
      for (const auto* f : eligible) {
        if (a.resolved_day && f->event_day > *a.resolved_day) continue;  // the next arm's
        if (f->fire_day == first.fire_day) {
          if (std::find(a.rules.begin(), a.rules.end(), f->rule) == a.rules.end())
            a.rules.push_back(f->rule);
        } else {
          a.later_firings.push_back({f->rule, f->event_day, f->fire_day, dated(at(f->candidate))});
        }
      }
      std::sort(a.rules.begin(), a.rules.end());
      describe(a, first);
      out_.alerts.push_back(std::move(a));
      if (!out_.alerts.back().resolved_day) return;
      resolved_before = out_.alerts.back().resolved_day;
    }
  }

  void describe(Alert& a, const Firing& f) const {
    const Value& v = at(f.candidate);
    a.value = dated(v);
    a.unit = v.unit;
    if (f.confirmer) a.confirmer = dated(at(*f.confirmer));
    if (baseline_) a.baseline = dated(*baseline_);
    a.nadir = f.nadir;
    const std::optional<DatedValue> reference =
        a.identity.cls == AlertClass::progression ? a.nadir : a.baseline;
    if (reference) {
      a.change_abs = v.value - reference->value;
      if (reference->value > 0)
        a.change_pct = (v.value - reference->value) / reference->value * 100;
    }
    a.doubling_time_days = doubling_time(f);
    if (a.identity.cls == AlertClass::progression) {
      a.severity = a.doubling_time_days && params_->doubling_time_high_days &&
                           *a.doubling_time_days < *params_->doubling_time_high_days
                       ? Severity::high
                       : Severity::standard;
    } else {
      a.severity = certainly_ge(v, baseline_->value) ? Severity::high : Severity::standard;
    }
  }

  // A new note for the evaluation, or nullptr when its key says it is already logged (it would
  // only be dropped by reconcile: the key is built first, the rest only for new notes) or is
  // already in this evaluation.
  Note* add_note(NoteKind kind, const char* code, int day, const auto&... key_tail) {
    // Built in a reused buffer: most keys are found in the log already.
    start_note_key(key_, code, series_key_part_);
    bool first = true;
    ((append_key_part(key_, key_tail, first), first = false), ...);
    if (logged_ && (*logged_)(key_)) return nullptr;
    if (new_note_keys_) new_note_keys_->push_back(key_);
    // One note per key and evaluation: values on the same day can be the same finding twice
    // (two equal values in a flare window, two candidates of one firing), and the alert log
    // holds each key once. The first in value order is kept.
    if (std::any_of(out_.notes.begin(), out_.notes.end(),
                    [this](const Note& n) { return n.key == key_; }))
      return nullptr;
    out_.notes.push_back(make_note(kind, code, marker_, method_, day, key_));
    out_.notes.back().anchor = anchor_;
    return &out_.notes.back();
  }

  void flare_note(const Value& v, int guard_days) {
    auto* n = add_note(NoteKind::info, "flare_guard", v.day, v.day, format_value(dated(v)));
    if (!n) return;
    n->value = dated(v);
    n->unit = v.unit;
    n->figure = guard_days;
  }

  void suppressed_note(const Firing& f) {
    const Value& v = at(f.candidate);
    auto* n = add_note(NoteKind::suppressed, "vka_active", f.fire_day, to_string(f.rule),
                       f.event_day, f.fire_day);
    if (!n) return;
    n->rule = f.rule;
    n->event_day = f.event_day;
    n->fire_day = f.fire_day;
    n->value = dated(v);
    n->unit = v.unit;
  }

  // A_HL / A_RESP: for each new episode minimum, the apparent half-life and the response.
  void decline_notes() {
    if (!baseline_ || is_less(baseline_->comparator)) return;
    const Value& b = *baseline_;
    std::optional<double> minimum;
    if (b.comparator == Comparator::none) minimum = b.value;
    bool responded = false;
    for (const auto* v : episode_values_) {
      if (is_greater(v->comparator)) continue;
      if (minimum && !(v->value < *minimum && !eq(v->value, *minimum))) continue;
      minimum = v->value;
      const int d = days_since_anchor(*v);
      if (params_->half_life_days && b.comparator == Comparator::none &&
          v->comparator == Comparator::none && v->value > 0 && v->value < b.value && d > 0) {
        const double hl = d * std::log(2.0) / std::log(b.value / v->value);
        auto uln = uln_of(*v);
        if (hl > *params_->half_life_days && uln && certainly_gt(*v, *uln)) {
          if (auto* n = add_note(NoteKind::info, "slow_decline", v->day, anchor_->day, v->day)) {
            n->value = dated(*v);
            n->unit = v->unit;
            n->baseline = dated(b);
            n->figure = hl;
            n->limit = *params_->half_life_days;
          }
        }
      }
      if (!responded && certainly_le(*v, 0.5 * b.value)) {
        responded = true;
        if (auto* n = add_note(NoteKind::info, "response", v->day, anchor_->day)) {
          n->value = dated(*v);
          n->unit = v->unit;
          n->baseline = dated(b);
          n->figure = (1 - v->value / b.value) * 100;
        }
      }
    }
  }

  const std::string& marker_;
  const std::string& method_;
  std::vector<const Value*> series_;
  const MarkerDefinition& definition_;
  const std::vector<AnchorGroup>& anchors_;
  const RuleParams* base_params_;
  const VkaCalendar& vka_;
  const NoteLogged* logged_;
  std::vector<EpisodeMemo>* memos_;  // the series' episodes in the cache, or nullptr
  Evaluation& out_;
  std::vector<std::string>* new_note_keys_ = nullptr;  // the notes of the episode being evaluated
  std::string series_key_part_ = series_key_part(marker_, method_);
  std::string key_;  // the note key being built

  std::vector<const Value*> episode_values_;
  std::optional<Anchor> anchor_;
  const RuleParams* params_ = nullptr;
  bool systemic_ = false;
  const Value* baseline_ = nullptr;
};

}  // namespace

Evaluation evaluate(const PatientHistory& history, const EngineConfig& config,
                    const std::vector<std::string>& scope, const NoteLogged& logged,
                    EvaluationCache* cache) {
  Evaluation out;
  // Series per (marker, method), in canonical units only. A patient has a handful: a vector
  // searched linearly costs less than a map keyed by two strings.
  struct Series {
    const std::string* marker;
    const std::string* method;
    std::vector<const Value*> values;
    int first_day = 0;
  };
  std::vector<Series> series;
  // Values of one marker mostly come together: look each marker up once per run of them.
  const std::string* looked_up = nullptr;
  bool evaluated_marker = false;
  const MarkerDefinition* def = nullptr;
  Series* last = nullptr;
  for (const auto& v : history.values) {
    if (!looked_up || v.marker != *looked_up) {
      looked_up = &v.marker;
      evaluated_marker =
          scope.empty() || std::find(scope.begin(), scope.end(), v.marker) != scope.end();
      def = evaluated_marker ? config.markers->find(v.marker) : nullptr;
      if (def && def->name != v.marker) def = nullptr;
      last = nullptr;  // `last`, when set, is a series of this marker
    }
    if (!def || v.unit != def->canonical_unit) continue;
    if (!last || *last->method != v.method) {
      last = nullptr;
      for (auto& candidate : series)
        if (*candidate.marker == v.marker && *candidate.method == v.method) last = &candidate;
      if (!last) {
        last = &series.emplace_back(Series{&v.marker, &v.method, {}, 0});
        // Room for every value at once: nearly always one series holds most of them.
        last->values.reserve(history.values.size());
      }
    }
    last->values.push_back(&v);
  }
  std::sort(series.begin(), series.end(), [](const Series& a, const Series& b) {
    return std::tie(*a.marker, *a.method) < std::tie(*b.marker, *b.method);
  });
  for (auto& s : series) {
    std::sort(s.values.begin(), s.values.end(), value_order);
    s.first_day = s.values.front()->day;
  }
  std::optional<MarkerMilestones> uncached;
  const MarkerMilestones* milestones = nullptr;
  for (auto& s : series) {
    const std::string& marker = *s.marker;
    const std::string& method = *s.method;
    if (!milestones || milestones->marker != marker)
      milestones =
          cache
              ? &cache->milestones(history, marker, config)
              : &uncached.emplace(marker_milestones(history, marker, *config.kinds, *config.rules));
    // E1: a method group that starts after another group of the marker re-baselines (the
    // earliest group keeps the baseline; on a tie, the first method in name order).
    const bool earliest = std::none_of(series.begin(), series.end(), [&](const Series& other) {
      return *other.marker == marker &&
             (other.first_day < s.first_day ||
              (other.first_day == s.first_day && *other.method < method));
    });
    if (!earliest) {
      std::string key;
      start_note_key(key, "method_change", series_key_part(marker, method));
      if (!logged || !logged(key)) {
        Note n =
            make_note(NoteKind::info, "method_change", marker, method, s.first_day, std::move(key));
        n.unit = s.values.front()->unit;
        out.notes.push_back(std::move(n));
      }
    }
    SeriesEvaluator(marker, method, std::move(s.values), *config.markers->find(marker), *milestones,
                    logged ? &logged : nullptr, cache ? &cache->episodes(marker, method) : nullptr,
                    out)
        .run();
  }
  // In day order (stable). Notes are large: order indices, then move each note once.
  auto by_day = [](const Note& a, const Note& b) { return a.day < b.day; };
  if (!std::is_sorted(out.notes.begin(), out.notes.end(), by_day)) {
    std::vector<std::size_t> order(out.notes.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return by_day(out.notes[a], out.notes[b]);
    });
    std::vector<Note> sorted;
    sorted.reserve(order.size());
    for (auto i : order) sorted.push_back(std::move(out.notes[i]));
    out.notes = std::move(sorted);
  }
  return out;
}

}  // namespace markerwatch::engine
