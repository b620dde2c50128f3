#pragma once
// One reading (number, comparator, unit as received) converted into a ResultRecord's stored
// value, unit, method group and ULN: the step every transport (HL7, CSV, FHIR, JSON) shares.
#include "core/markers.hpp"
#include "core/numeric_value.hpp"
#include "core/records.hpp"

namespace markerwatch {

enum class RangeCheck {
  lenient,  // a reference range that cannot be read gives no ULN (HL7: labs write prose there)
  strict,   // a reference range that cannot be read is an error (our own CSV and JSON formats)
};

// Reads r.unit_raw and r.reference_range; sets r.value, r.comparator, r.unit, r.uln and appends
// the assay family to r.method when the unit belongs to a separate one. Throws InputError when
// the unit is missing or cannot be converted, the value is negative, or (strict) the range is
// unreadable. Removal statuses keep no value.
void set_reading(ResultRecord& r, const MarkerCatalog& catalog, const MarkerDefinition& marker,
                 const NumericValue& reading, RangeCheck range_check);

// set_reading's conversion once the unit's mapping is found (for a transport that reports each
// failure its own way): sets r.value, r.comparator, r.unit, r.uln (from r.reference_range when it
// reads) and the assay family in r.method; removal statuses keep no value. False when
// r.reference_range is given but cannot be read (no ULN then).
bool apply_unit_mapping(ResultRecord& r, const UnitMapping& mapping, const NumericValue& reading);

}  // namespace markerwatch
