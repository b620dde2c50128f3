#pragma once
// One exception root for the whole product: every error raised inside markerwatch derives from
// markerwatch::Error (itself a std::runtime_error), so boundary handlers can catch it in one place.
#include <stdexcept>
#include <string>

namespace markerwatch {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input from outside (a message, a file row, a CLI argument): reported, never fatal.
class InputError : public Error {
 public:
  using Error::Error;
};

}  // namespace markerwatch
