// The optimizer updates (cobot-method.md §10.8), written once for validation and both backends'
// kernels, which only differ in how they walk the tensors. Every p, m, v and momentum buffer is
// updated in place, element by element; the gradient is first multiplied by `scale` (1, or the
// clipping coefficient of clip_scale, read on the device so no host sync is needed).
//
// The arithmetic follows PyTorch 1.13's single-tensor paths (the version that wrote the golden
// trajectories), operation by operation: Python scalars (β, 1 − β, √(1 − β2^k), eps, −lr/(1 − β1^k),
// wd) are computed in double and rounded to the tensor's dtype, as PyTorch does when they meet a
// tensor op. Adam (torch.optim.Adam, coupled L2) and AdamW (torch.optim.AdamW, decoupled):
//   AdamW:  p ← p · (1 − lr·wd)                 (param.mul_)
//   Adam:   g ← g + wd · p, when wd ≠ 0          (grad.add(param, alpha=wd))
//   m ← m · β1 + (1 − β1) · g                    (exp_avg.mul_(β1).add_(g, alpha=1 − β1))
//   v ← v · β2 + (1 − β2) · g · g                (exp_avg_sq.mul_(β2).addcmul_(g, g, value=1 − β2))
//   p ← p + (−lr/(1 − β1^k)) · m / (√v / √(1 − β2^k) + eps)   (param.addcdiv_(m, denom, value=−step_size))
// With g = 0 and m = v = 0 (a tensor the loss never reached) this adds exactly −0 / eps = −0 to p:
// such a tensor stays bit-identical, as PyTorch's skipped None gradients do (when wd = 0).
// SGD (torch.optim.SGD): g ← g + wd·p (wd ≠ 0); with momentum μ: buf ← g on step 1, else
// buf ← buf · μ + (1 − dampening) · g; g ← g + μ · buf (Nesterov) or buf; p ← p + (−lr) · g.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/op.h"
#include "../core/random.h"  // SAM_COBOT_HD

namespace samcobot {

// Elements per work item: the fixed partition of every tensor that global_norm's partial sums use
// on both backends (and the unit of parallel work of the updates).
constexpr int64_t kOptimChunk = 16384;

inline int64_t optim_chunks(int64_t n) { return (n + kOptimChunk - 1) / kOptimChunk; }

// A list attribute of `count` finite numbers >= 0 (one per tensor).
inline std::vector<double> per_tensor_list(const std::string& op, const Attrs& attrs, const std::string& key, int64_t count) {
  auto it = attrs.lists.find(key);
  if (it == attrs.lists.end()) fail("ERR_ARGUMENT", op, "a list of " + std::to_string(count) + " numbers (one per tensor)", "attribute '" + key + "'", "nothing");
  if (int64_t(it->second.size()) != count)
    fail("ERR_ARGUMENT", op, "a list of " + std::to_string(count) + " numbers (one per tensor)", "attribute '" + key + "'",
         std::to_string(it->second.size()) + " numbers");
  for (double v : it->second)
    if (!std::isfinite(v) || v < 0) fail("ERR_ARGUMENT", op, "finite numbers >= 0", "attribute '" + key + "'", to_text(v));
  return it->second;
}

inline double unit_interval(const std::string& op, const Attrs& attrs, const std::string& key, double fallback) {
  double v = attrs.finite_or(op, key, fallback);
  if (v < 0 || v >= 1) fail("ERR_ARGUMENT", op, "a number in [0, 1)", "attribute '" + key + "'", to_text(v));
  return v;
}

struct AdamConfig {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  int64_t step = 1;
  bool decoupled = false;
  std::vector<double> lr, weight_decay;
};

// Reads {lr: list, weightDecay: list, beta1, beta2, eps, step, decoupled} for `count` tensors.
inline AdamConfig adam_config(const std::string& op, const Attrs& attrs, int64_t count) {
  AdamConfig c;
  c.lr = per_tensor_list(op, attrs, "lr", count);
  c.weight_decay = per_tensor_list(op, attrs, "weightDecay", count);
  c.beta1 = unit_interval(op, attrs, "beta1", 0.9);
  c.beta2 = unit_interval(op, attrs, "beta2", 0.999);
  c.eps = attrs.finite_or(op, "eps", 1e-8);
  if (c.eps < 0) fail("ERR_ARGUMENT", op, "a number >= 0", "attribute 'eps'", to_text(c.eps));
  c.step = attrs.integer(op, "step", 1, int64_t(1) << 53);
  c.decoupled = attrs.flag("decoupled");
  return c;
}

// The scalars shared by every tensor of one adam_step call.
template <class T>
struct AdamScalars {
  T beta1, one_minus_beta1, beta2, one_minus_beta2, bias_correction2_sqrt, eps;
  bool decoupled;
};

// One tensor's scalars: −lr / (1 − β1^k), wd, and AdamW's 1 − lr·wd.
template <class T>
struct AdamTensorScalars {
  T neg_step_size, weight_decay, decay;
};

template <class T>
AdamScalars<T> adam_scalars(const AdamConfig& c) {
  const double bias_correction2 = 1.0 - std::pow(c.beta2, double(c.step));
  return {T(c.beta1), T(1.0 - c.beta1), T(c.beta2), T(1.0 - c.beta2), T(std::sqrt(bias_correction2)), T(c.eps), c.decoupled};
}

template <class T>
AdamTensorScalars<T> adam_tensor_scalars(const AdamConfig& c, size_t i) {
  const double bias_correction1 = 1.0 - std::pow(c.beta1, double(c.step));
  return {T(-(c.lr[i] / bias_correction1)), T(c.weight_decay[i]), T(1.0 - c.lr[i] * c.weight_decay[i])};
}

template <class T>
SAM_COBOT_HD inline void adam_update(T& p, T g, T& m, T& v, T scale, const AdamScalars<T>& s, const AdamTensorScalars<T>& t) {
  using std::sqrt;
  g = g * scale;
  if (s.decoupled) p = p * t.decay;
  else if (t.weight_decay != T(0)) g = g + t.weight_decay * p;
  m = m * s.beta1 + s.one_minus_beta1 * g;
  v = v * s.beta2 + s.one_minus_beta2 * g * g;
  const T denom = sqrt(v) / s.bias_correction2_sqrt + s.eps;
  p = p + t.neg_step_size * m / denom;
}

struct SgdConfig {
  double momentum = 0, dampening = 0;
  bool nesterov = false;
  int64_t step = 1;
  std::vector<double> lr, weight_decay;
};

// Reads {lr: list, weightDecay: list, momentum, dampening, nesterov, step} for `count` tensors.
inline SgdConfig sgd_config(const std::string& op, const Attrs& attrs, int64_t count) {
  SgdConfig c;
  c.lr = per_tensor_list(op, attrs, "lr", count);
  c.weight_decay = per_tensor_list(op, attrs, "weightDecay", count);
  c.momentum = attrs.finite_or(op, "momentum", 0);
  if (c.momentum < 0) fail("ERR_ARGUMENT", op, "a number >= 0", "attribute 'momentum'", to_text(c.momentum));
  c.dampening = attrs.finite_or(op, "dampening", 0);
  c.nesterov = attrs.flag("nesterov");
  if (c.nesterov && (c.momentum <= 0 || c.dampening != 0))
    fail("ERR_ARGUMENT", op, "momentum > 0 and dampening 0 with Nesterov", "attributes 'momentum', 'dampening'",
         to_text(c.momentum) + ", " + to_text(c.dampening));
  c.step = attrs.integer(op, "step", 1, int64_t(1) << 53);
  return c;
}

template <class T>
struct SgdScalars {
  T momentum, one_minus_dampening;
  bool nesterov, first;
};

// One tensor's scalars: −lr and wd.
template <class T>
struct SgdTensorScalars {
  T neg_lr, weight_decay;
};

template <class T>
SgdScalars<T> sgd_scalars(const SgdConfig& c) {
  return {T(c.momentum), T(1.0 - c.dampening), c.nesterov, c.step == 1};
}

template <class T>
SgdTensorScalars<T> sgd_tensor_scalars(const SgdConfig& c, size_t i) {
  return {T(-c.lr[i]), T(c.weight_decay[i])};
}

template <class T>
SAM_COBOT_HD inline void sgd_update(T& p, T g, T& buf, T scale, const SgdScalars<T>& s, const SgdTensorScalars<T>& t) {
  g = g * scale;
  if (t.weight_decay != T(0)) g = g + t.weight_decay * p;
  if (s.momentum != T(0)) {
    buf = s.first ? g : buf * s.momentum + s.one_minus_dampening * g;
    g = s.nesterov ? g + s.momentum * buf : buf;
  }
  p = p + t.neg_lr * g;
}

// PyTorch's clip_grad_norm_ coefficient, clamped at 1 (a NaN norm gives NaN, as clamp does).
template <class T>
SAM_COBOT_HD inline T clip_coefficient(T norm, T max_norm) {
  const T c = max_norm / (norm + T(1e-6));
  return c != c || c < T(1) ? c : T(1);
}

}  // namespace samcobot
