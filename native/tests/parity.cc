// The parity case registry and the random inputs cases are built from.
#include "parity.h"

#include "../core/random.h"

namespace samcobot::parity {
namespace {

std::vector<Family>& registry() {
  static std::vector<Family> all;
  return all;
}

}  // namespace

bool register_cases(const std::string& family, std::function<std::vector<Case>()> make) {
  registry().push_back({family, std::move(make)});
  return true;
}

const std::vector<Family>& families() { return registry(); }

Tensor random_tensor(const Shape& shape, uint64_t seed, double scale) {
  Tensor t = Tensor::empty(shape, DType::F32, Device::Cpu);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(scale * normal01(seed, uint64_t(i)));
  return t;
}

}  // namespace samcobot::parity
