#include "core/quantity.hpp"

#include "core/errors.hpp"
#include "core/reference_range.hpp"
#include "core/result_status.hpp"
#include "core/text.hpp"

namespace markerwatch {

void set_reading(ResultRecord& r, const MarkerCatalog& catalog, const MarkerDefinition& marker,
                 const NumericValue& reading, RangeCheck range_check) {
  if (reading.value < 0) throw InputError("value " + reading.text + " is negative");
  if (r.unit_raw.empty()) throw InputError("no unit for " + marker.name);
  const auto* mapping = catalog.map_unit(marker, r.unit_raw);
  if (!mapping)
    throw InputError("unit '" + text::printable(r.unit_raw, 20) + "' cannot be converted to " +
                     marker.canonical_unit + " for " + marker.name);
  if (!apply_unit_mapping(r, *mapping, reading) && range_check == RangeCheck::strict)
    throw InputError("reference_range '" + text::printable(r.reference_range, 40) +
                     "' is not a-b, <b, <=b or b");
}

bool apply_unit_mapping(ResultRecord& r, const UnitMapping& mapping, const NumericValue& reading) {
  r.value = reading.value * mapping.factor;
  r.comparator = reading.comparator;
  r.unit = mapping.stored_unit;
  if (!mapping.method_suffix.empty())
    r.method = r.method.empty() ? "unit:" + mapping.method_suffix
                                : r.method + " unit:" + mapping.method_suffix;
  bool range_read = true;
  if (!r.reference_range.empty()) {
    const auto uln = upper_limit_of(r.reference_range);
    if (uln) r.uln = *uln * mapping.factor;
    range_read = uln.has_value();
  }
  if (removes_value(r.status)) r.value.reset();
  return range_read;
}

}  // namespace markerwatch
