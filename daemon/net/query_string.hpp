#pragma once
// The parts of an HTTP request target that carry outside text: percent-escaped path segments and
// the query (application/x-www-form-urlencoded). Decoded text must be valid UTF-8.
#include <map>
#include <string>
#include <string_view>

namespace markerwatch::net {

// Percent escapes decoded, and '+' as a space when `plus_is_space` (a query). Throws InputError
// for an escape cut short or not hexadecimal, or a result that is not valid UTF-8.
std::string percent_decode(std::string_view in, bool plus_is_space = false);

// The query of a request target (after its first '?'; none: empty) as name -> value, both
// decoded. Empty parts ("a=1&&b=2") are skipped; a name without '=' has an empty value. Throws
// InputError for what percent_decode refuses and for a name given more than once.
std::map<std::string, std::string> parse_query(std::string_view target);

}  // namespace markerwatch::net
