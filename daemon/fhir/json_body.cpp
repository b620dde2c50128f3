#include "fhir/json_body.hpp"

#include <cmath>
#include <cstdlib>
#include <vector>

#include "core/errors.hpp"
#include "core/text.hpp"

namespace markerwatch::fhir {

namespace {

constexpr int kMaxDepth = 64;
// Never the start of a parsed JSON string: those are valid UTF-8, and 0xFF never is.
constexpr std::string_view kDecimalTag = "\xFF";

// Builds the document like nlohmann's own DOM parser, but keeps decimals as written.
class DomBuilder {
 public:
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  bool null() { return put(nullptr); }
  bool boolean(bool v) { return put(v); }
  bool number_integer(Json::number_integer_t v) { return put(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return put(v); }
  bool number_float(Json::number_float_t, const string_t& text) {
    return put(std::string(kDecimalTag) + text);
  }
  bool string(string_t& v) { return put(std::move(v)); }
  bool binary(binary_t&) { return false; }  // not produced by the JSON text parser
  bool start_object(std::size_t) { return open(Json::object()); }
  bool key(string_t& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) { return open(Json::array()); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    throw InputError("the body is not valid JSON: " + text::printable(e.what(), 300));
  }
  Json take() { return std::move(root_); }

 private:
  // Ancestors stay put: a parent's vector may move its finished children, never itself.
  Json* put(Json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json& top = *stack_.back();
    if (top.is_object()) {
      auto& slot = top[key_];
      slot = std::move(v);
      return &slot;
    }
    top.push_back(std::move(v));
    return &top.back();
  }
  bool open(Json container) {
    if (stack_.size() >= kMaxDepth)
      throw InputError("JSON nested deeper than " + std::to_string(kMaxDepth) + " levels");
    stack_.push_back(put(std::move(container)));
    return true;
  }

  Json root_;
  std::vector<Json*> stack_;
  std::string key_;
};

}  // namespace

Json parse_body(std::string_view body) {
  if (body.empty()) throw InputError("the request has no body");
  DomBuilder builder;
  if (!Json::sax_parse(body.begin(), body.end(), &builder))
    throw InputError("the body is not valid JSON");
  return builder.take();
}

bool is_decimal(const Json& v) {
  if (v.is_number()) return true;
  if (!v.is_string()) return false;
  const auto& s = v.get_ref<const std::string&>();
  return s.size() > kDecimalTag.size() && s.starts_with(kDecimalTag);
}

bool is_text(const Json& v) {
  return v.is_string() && !is_decimal(v);
}

std::string decimal_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>().substr(kDecimalTag.size());
  return v.dump();
}

std::optional<double> decimal_value(const Json& v) {
  const double d = v.is_number() ? v.get<double>() : std::strtod(decimal_text(v).c_str(), nullptr);
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

}  // namespace markerwatch::fhir
