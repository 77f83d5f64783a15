// Validation and registration of the optimizer ops (kernels: native/cpu/optim.cc,
// native/cuda/optim.cu; formulas: optim_math.h). k tensors per call, each with its own lr and wd.
//   adam_step   [scale (1), (p, g, m, v) × k]  {lr: k numbers, weightDecay: k numbers, beta1 (0.9),
//               beta2 (0.999), eps (1e-8), step (k >= 1, for the bias corrections), decoupled (AdamW)}
//               -> nothing; every p, m and v is updated in place
//   sgd_step    [scale (1), (p, g, buf) × k]   {lr, weightDecay, momentum (0), dampening (0),
//               nesterov, step (1: buf ← g)} -> nothing; every p and buf is updated in place
//   global_norm [g0, g1, ...]                  -> [norm (1)] = √(Σ g²), summed in double in a fixed order
//   clip_scale  [norm (1)]  {maxNorm > 0}      -> [scale (1)] = min(1, maxNorm / (norm + 1e-6)) (clip_grad_norm_)
// Float tensors of one call share a dtype: f32 or f64 on the CPU, f32 on CUDA. Parameters and
// state may share storage with no other input (the updates write in place). mutated_inputs names
// the first tensor's state only (the list is fixed per op while k varies): the parity harness
// compares that tensor.
#include <set>

#include "../core/op.h"
#include "../cpu/optim.h"
#include "optim_math.h"
#ifdef SAM_COBOT_WITH_CUDA
#include "../cuda/optim.h"
#endif

namespace samcobot {
namespace {

void expect_optim_dtype(const std::string& op, const std::string& name, const Tensor& t) {
  expect_float(op, name, t);
  if (t.device() == Device::Cuda) expect_dtype(op, name + " (the CUDA kernels are f32)", t, DType::F32);
}

// Checks [scale, (p, ...) × k] with `names` the roles in one group (p first); returns k.
int64_t check_groups(const std::string& op, const std::vector<Tensor>& in, const std::vector<std::string>& names) {
  const size_t per = names.size();
  if (in.size() < 1 + per || (in.size() - 1) % per != 0)
    fail("ERR_ARGUMENT", op, "scale then groups of " + std::to_string(per) + " tensors (at least one group)", "the inputs", std::to_string(in.size()));
  expect_optim_dtype(op, "scale", in[0]);
  expect_shape(op, "scale", in[0], {1});
  // Every tensor but the gradients is written in place: none may share storage with another input
  // (gradients may share storage among themselves: they are only read).
  const auto is_gradient = [&](size_t i) { return i > 0 && (i - 1) % per == 1; };
  std::set<const Storage*> written;
  for (size_t i = 1; i < in.size(); ++i)
    if (!is_gradient(i) && !written.insert(in[i].storage().get()).second)
      fail("ERR_ARGUMENT", op, "parameters and state that share no storage (they are updated in place)", "input " + std::to_string(i), "a tensor seen before");
  for (size_t i = 0; i < in.size(); ++i)
    if ((i == 0 || is_gradient(i)) && written.count(in[i].storage().get()))
      fail("ERR_ARGUMENT", op, "a tensor that is not also updated in place", "input " + std::to_string(i), "the storage of a parameter or its state");
  const int64_t k = int64_t((in.size() - 1) / per);
  for (int64_t t = 0; t < k; ++t) {
    const Tensor& p = in[1 + t * per];
    const std::string index = " of tensor " + std::to_string(t);
    expect_same_dtype(op, names[0] + index, p, in[0]);
    for (size_t j = 1; j < per; ++j) {
      expect_same_dtype(op, names[j] + index, in[1 + t * per + j], p);
      expect_shape(op, names[j] + index, in[1 + t * per + j], p.shape());
    }
  }
  return k;
}

std::vector<TensorSpec> validate_adam_step(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string op = "adam_step";
  adam_config(op, attrs, check_groups(op, in, {"p", "g", "m", "v"}));
  return {};
}

std::vector<TensorSpec> validate_sgd_step(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string op = "sgd_step";
  sgd_config(op, attrs, check_groups(op, in, {"p", "g", "buf"}));
  return {};
}

std::vector<TensorSpec> validate_global_norm(const std::vector<Tensor>& in, const Attrs&) {
  const std::string op = "global_norm";
  if (in.empty()) fail("ERR_ARGUMENT", op, "at least one tensor", "the inputs", "0");
  expect_optim_dtype(op, "input 0", in[0]);
  for (size_t i = 1; i < in.size(); ++i) expect_same_dtype(op, "input " + std::to_string(i), in[i], in[0]);
  return {{{1}, in[0].dtype()}};
}

std::vector<TensorSpec> validate_clip_scale(const std::vector<Tensor>& in, const Attrs& attrs) {
  const std::string op = "clip_scale";
  expect_inputs(op, in, 1, 1);
  expect_optim_dtype(op, "norm", in[0]);
  expect_shape(op, "norm", in[0], {1});
  double max_norm = attrs.number(op, "maxNorm");
  if (!(max_norm > 0)) fail("ERR_ARGUMENT", op, "a number > 0", "attribute 'maxNorm'", to_text(max_norm));
  return {{{1}, in[0].dtype()}};
}

}  // namespace

SAM_COBOT_OP({"adam_step", validate_adam_step, cpu::adam_step, CUDA_KERNEL(adam_step), {1, 3, 4}});
SAM_COBOT_OP({"sgd_step", validate_sgd_step, cpu::sgd_step, CUDA_KERNEL(sgd_step), {1, 3}});
SAM_COBOT_OP({"global_norm", validate_global_norm, cpu::global_norm, CUDA_KERNEL(global_norm)});
SAM_COBOT_OP({"clip_scale", validate_clip_scale, cpu::clip_scale, CUDA_KERNEL(clip_scale)});

}  // namespace samcobot
