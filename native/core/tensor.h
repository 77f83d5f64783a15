// A tensor: contiguous row-major storage of one dtype on one device. Tensors are cheap values
// (shared storage); a view with another shape over the same bytes is a reshape, nothing else.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "allocator.h"
#include "dtype.h"

namespace samcobot {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  Tensor(std::shared_ptr<Storage> storage, Shape shape, DType dtype);
  static Tensor empty(const Shape& shape, DType dtype, Device device);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i < 0 ? shape_.size() + i : i]; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_->device(); }
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  Tensor reshaped(const Shape& shape) const;

  void* raw() const { return storage_->data(); }
  template <class T>
  T* data() const { return static_cast<T*>(storage_->data()); }

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  DType dtype_ = DType::F32;
};

}  // namespace samcobot
