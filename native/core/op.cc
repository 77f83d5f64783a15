#include "op.h"

#include <cmath>
#include <mutex>

#include "queue.h"

namespace samcobot {
namespace {

std::map<std::string, OpDef>& table() {
  static std::map<std::string, OpDef> ops;
  return ops;
}

}  // namespace

bool Attrs::has(const std::string& key) const { return numbers.count(key) || strings.count(key) || lists.count(key); }

double Attrs::number(const std::string& op, const std::string& key) const {
  auto it = numbers.find(key);
  if (it == numbers.end()) fail("ERR_ARGUMENT", op, "a number", "attribute '" + key + "'", "nothing");
  if (!std::isfinite(it->second)) fail("ERR_ARGUMENT", op, "a finite number", "attribute '" + key + "'", to_text(it->second));
  return it->second;
}

double Attrs::number_or(const std::string& key, double fallback) const {
  auto it = numbers.find(key);
  if (it != numbers.end()) return it->second;
  if (strings.count(key)) fail("ERR_ARGUMENT", "", "a number", "attribute '" + key + "'", "\"" + strings.at(key) + "\"");
  if (lists.count(key)) fail("ERR_ARGUMENT", "", "a number", "attribute '" + key + "'", "a list");
  return fallback;
}

double Attrs::finite_or(const std::string& op, const std::string& key, double fallback) const {
  return numbers.count(key) ? number(op, key) : number_or(key, fallback);
}

int64_t Attrs::integer(const std::string& op, const std::string& key, int64_t lo, int64_t hi) const {
  double v = number(op, key);
  if (v != std::floor(v) || v < double(lo) || v > double(hi))
    fail("ERR_ARGUMENT", op, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", "attribute '" + key + "'", to_text(v));
  return static_cast<int64_t>(v);
}

int64_t Attrs::integer_or(const std::string& op, const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const {
  return numbers.count(key) ? integer(op, key, lo, hi) : fallback;
}

std::string Attrs::string(const std::string& op, const std::string& key) const {
  auto it = strings.find(key);
  if (it == strings.end()) fail("ERR_ARGUMENT", op, "a string", "attribute '" + key + "'", "nothing");
  return it->second;
}

std::string Attrs::string_or(const std::string& key, const std::string& fallback) const {
  auto it = strings.find(key);
  return it == strings.end() ? fallback : it->second;
}

std::vector<int64_t> Attrs::integers(const std::string& op, const std::string& key) const {
  auto it = lists.find(key);
  if (it == lists.end()) fail("ERR_ARGUMENT", op, "a list of integers", "attribute '" + key + "'", "nothing");
  std::vector<int64_t> out;
  for (double v : it->second) {
    if (v != std::floor(v) || std::fabs(v) > 9.0e15) fail("ERR_ARGUMENT", op, "integers", "attribute '" + key + "'", to_text(v));
    out.push_back(static_cast<int64_t>(v));
  }
  return out;
}

bool register_op(OpDef def) {
  std::string name = def.name;
  table()[name] = std::move(def);
  return true;
}

const OpDef* find_op(const std::string& name) {
  auto it = table().find(name);
  return it == table().end() ? nullptr : &it->second;
}

std::vector<std::string> op_names() {
  std::vector<std::string> names;
  for (auto& kv : table()) names.push_back(kv.first);
  return names;
}

std::vector<Tensor> run_op(const std::string& name, const std::vector<Tensor>& inputs, const Attrs& attrs,
                           Device device_if_no_inputs) {
  const OpDef* def = find_op(name);
  if (!def) fail("ERR_ARGUMENT", "", "a registered op name", "op", "'" + name + "'");
  Device device = device_if_no_inputs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) fail("ERR_DISPOSED", name, "a live tensor", "input " + std::to_string(i), "a disposed tensor");
    if (i == 0) device = inputs[0].device();
    else if (inputs[i].device() != device)
      fail("ERR_DEVICE", name, std::string("every input on ") + device_name(device), "input " + std::to_string(i),
           std::string("a tensor on ") + device_name(inputs[i].device()));
  }
  KernelFn kernel = device == Device::Cpu ? def->cpu : def->cuda;
  if (device == Device::Cuda) require_cuda();
  if (!kernel) fail("ERR_UNSUPPORTED", name, "an op implemented on this device", "device", device_name(device));
  std::vector<TensorSpec> specs = def->validate(inputs, attrs);
  std::vector<Tensor> outputs;
  outputs.reserve(specs.size());
  for (const TensorSpec& s : specs) outputs.push_back(Tensor::empty(s.shape, s.dtype, device));
  auto shared_attrs = std::make_shared<Attrs>(attrs);
  device_queue(device).push([def, kernel, inputs, outputs, shared_attrs] {
    OpCall call{def->name, inputs, outputs, *shared_attrs};
    kernel(call);
  });
  return outputs;
}

void expect_inputs(const std::string& op, const std::vector<Tensor>& inputs, size_t lo, size_t hi) {
  if (inputs.size() < lo || inputs.size() > hi)
    fail("ERR_ARGUMENT", op, lo == hi ? std::to_string(lo) + " inputs" : "between " + std::to_string(lo) + " and " + std::to_string(hi) + " inputs",
         "the inputs", std::to_string(inputs.size()));
}

void expect_rank(const std::string& op, const std::string& name, const Tensor& t, int rank) {
  if (t.rank() != rank) fail("ERR_SHAPE", op, "a rank-" + std::to_string(rank) + " tensor", name, shape_string(t.shape()));
}

void expect_rank_at_least(const std::string& op, const std::string& name, const Tensor& t, int rank) {
  if (t.rank() < rank) fail("ERR_SHAPE", op, "a tensor of rank " + std::to_string(rank) + " or more", name, shape_string(t.shape()));
}

void expect_dtype(const std::string& op, const std::string& name, const Tensor& t, DType dtype) {
  if (t.dtype() != dtype) fail("ERR_DTYPE", op, std::string("dtype ") + dtype_name(dtype), name, dtype_name(t.dtype()));
}

void expect_float(const std::string& op, const std::string& name, const Tensor& t) {
  if (!dtype_is_float(t.dtype())) fail("ERR_DTYPE", op, "a floating-point dtype", name, dtype_name(t.dtype()));
}

void expect_same_dtype(const std::string& op, const std::string& name, const Tensor& t, const Tensor& like) {
  if (t.dtype() != like.dtype()) fail("ERR_DTYPE", op, std::string("dtype ") + dtype_name(like.dtype()), name, dtype_name(t.dtype()));
}

void expect_shape(const std::string& op, const std::string& name, const Tensor& t, const Shape& shape) {
  if (t.shape() != shape) fail("ERR_SHAPE", op, "shape " + shape_string(shape), name, shape_string(t.shape()));
}

}  // namespace samcobot
