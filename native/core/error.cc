#include "error.h"

namespace samcobot {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

void fail(const std::string& code, const std::string& op, const std::string& what, const std::string& name,
          const std::string& received) {
  std::string prefix = op.empty() ? "" : op + ": ";
  throw Error(code, prefix + "Expected " + what + " for " + name + " but received " + received);
}

}  // namespace samcobot
