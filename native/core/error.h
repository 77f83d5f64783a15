// Errors that cross into JavaScript as SamCobotError with a stable code. Native code throws these
// for every bad shape, dtype, index or file offset; the addon turns them into JS exceptions, so a
// bad argument never takes the process down.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace samcobot {

class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

std::string shape_string(const std::vector<int64_t>& shape);

// "Expected <what> for <name> but received <value>": the one message shape of the project.
[[noreturn]] void fail(const std::string& code, const std::string& op, const std::string& what,
                       const std::string& name, const std::string& received);

template <class T>
std::string to_text(const T& value) {
  std::ostringstream s;
  s << value;
  return s.str();
}

}  // namespace samcobot
