#pragma once
// Request bodies as JSON, with decimals kept as written: FHIR's decimal precision is significant
// ("2.30" is not "2.3", INTEROP.md §3.1), and a parser that turns every number into a double
// loses it. Numbers with a fraction or an exponent are therefore held as tagged strings; read
// every number through is_decimal / decimal_text / decimal_value.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace markerwatch::fhir {

using Json = nlohmann::json;

// Parses a request body; InputError for an empty body, invalid JSON (also invalid UTF-8) or
// nesting deeper than 64 levels.
Json parse_body(std::string_view body);

// A JSON string (not a decimal held as one).
bool is_text(const Json& v);
// A JSON number (integer, or a decimal as parse_body keeps it).
bool is_decimal(const Json& v);
// The number as written ("2.30", "35000", "1e3"). Precondition: is_decimal(v).
std::string decimal_text(const Json& v);
// Its value; nullopt when it is not finite (1e400).
std::optional<double> decimal_value(const Json& v);

}  // namespace markerwatch::fhir
