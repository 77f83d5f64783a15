#include "tensor.h"

#include "error.h"

namespace samcobot {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, DType dtype)
    : storage_(std::move(storage)), shape_(std::move(shape)), dtype_(dtype) {}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  constexpr int64_t kMaxElements = int64_t(1) << 40;
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && n > kMaxElements / d)) fail("ERR_SHAPE", "", "non-negative dimensions with fewer than 2^40 elements", "a tensor shape", shape_string(shape));
    n *= d;
  }
  if (device == Device::Cuda) require_cuda();
  if (device == Device::Cpu && (dtype == DType::BF16 || dtype == DType::F16))
    fail("ERR_DTYPE", "", "f32, f64, i32 or u8 (bf16 and f16 live on CUDA)", "a CPU tensor's dtype", dtype_name(dtype));
  if (device == Device::Cuda && dtype == DType::F64)
    fail("ERR_DTYPE", "", "f32, bf16, f16, i32 or u8 (f64 is the CPU's reference precision)", "a CUDA tensor's dtype", dtype_name(dtype));
  auto storage = std::make_shared<Storage>(device, static_cast<size_t>(n) * dtype_size(dtype));
  return Tensor(std::move(storage), shape, dtype);
}

Tensor Tensor::reshaped(const Shape& shape) const {
  if (shape_numel(shape) != numel()) fail("ERR_SHAPE", "reshape", "a shape with " + std::to_string(numel()) + " elements", "the new shape", shape_string(shape));
  return Tensor(storage_, shape, dtype_);
}

}  // namespace samcobot
