// The op table. Each op is one entry: a name, a validation function that checks every input and
// attribute and returns the outputs' shapes and dtypes, and one kernel per backend. Ops register
// themselves from their file in native/ops/ with SAM_COBOT_OP, so adding an op means one kernel
// file per backend, one validation, one registration line.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "error.h"
#include "tensor.h"

namespace samcobot {

// Named op attributes, parsed from a plain JS object: numbers, strings, number lists.
class Attrs {
 public:
  std::map<std::string, double> numbers;
  std::map<std::string, std::string> strings;
  std::map<std::string, std::vector<double>> lists;

  bool has(const std::string& key) const;
  double number(const std::string& op, const std::string& key) const;
  // Throws ERR_ARGUMENT when the key holds a string or a list rather than a number.
  double number_or(const std::string& key, double fallback) const;
  // As number_or, and throws ERR_ARGUMENT (naming `op`) for NaN or an infinity.
  double finite_or(const std::string& op, const std::string& key, double fallback) const;
  int64_t integer(const std::string& op, const std::string& key, int64_t lo, int64_t hi) const;
  int64_t integer_or(const std::string& op, const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const;
  bool flag(const std::string& key) const { return number_or(key, 0) != 0; }
  std::string string(const std::string& op, const std::string& key) const;
  std::string string_or(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> integers(const std::string& op, const std::string& key) const;
};

struct TensorSpec {
  Shape shape;
  DType dtype;
};

// What a kernel sees: validated inputs, freshly allocated outputs, attributes.
struct OpCall {
  const std::string& name;
  std::vector<Tensor> inputs;
  std::vector<Tensor> outputs;
  const Attrs& attrs;
  const Tensor& in(size_t i) const { return inputs[i]; }
  const Tensor& out(size_t i) const { return outputs[i]; }
};

using ValidateFn = std::function<std::vector<TensorSpec>(const std::vector<Tensor>& inputs, const Attrs& attrs)>;
using KernelFn = void (*)(const OpCall& call);

struct OpDef {
  std::string name;
  ValidateFn validate;
  KernelFn cpu = nullptr;
  KernelFn cuda = nullptr;
  // Inputs the kernel writes in place (accumulating GEMM, fill, optimizer steps); none by default.
  std::vector<int> mutated_inputs;
};

bool register_op(OpDef def);
const OpDef* find_op(const std::string& name);
std::vector<std::string> op_names();

// Validates, allocates outputs, and enqueues the kernel on the inputs' device. Returns the outputs
// at once; they are filled when the queue reaches the op.
std::vector<Tensor> run_op(const std::string& name, const std::vector<Tensor>& inputs, const Attrs& attrs,
                           Device device_if_no_inputs);

// Validation helpers shared by the op files. `op` and `name` are for the message.
void expect_rank(const std::string& op, const std::string& name, const Tensor& t, int rank);
void expect_rank_at_least(const std::string& op, const std::string& name, const Tensor& t, int rank);
void expect_dtype(const std::string& op, const std::string& name, const Tensor& t, DType dtype);
void expect_float(const std::string& op, const std::string& name, const Tensor& t);
void expect_same_dtype(const std::string& op, const std::string& name, const Tensor& t, const Tensor& like);
void expect_shape(const std::string& op, const std::string& name, const Tensor& t, const Shape& shape);
void expect_inputs(const std::string& op, const std::vector<Tensor>& inputs, size_t lo, size_t hi);

}  // namespace samcobot

#define SAM_COBOT_CONCAT_INNER(a, b) a##b
#define SAM_COBOT_CONCAT(a, b) SAM_COBOT_CONCAT_INNER(a, b)
// Registers an OpDef at load time: SAM_COBOT_OP({"add", validate_add, cpu::add, CUDA_KERNEL(add)});
#define SAM_COBOT_OP(...) \
  static const bool SAM_COBOT_CONCAT(sam_cobot_registered_, __LINE__) = ::samcobot::register_op(::samcobot::OpDef __VA_ARGS__)

// The CUDA kernel of an op, or null when the CUDA backend is not built.
#ifdef SAM_COBOT_WITH_CUDA
#define CUDA_KERNEL(name) (&::samcobot::cuda::name)
#else
#define CUDA_KERNEL(name) nullptr
#endif
