// The COBOT formulas, written once for validation and both backends' kernels (cobot-method.md §3,
// §4, §10.3-10.4). The CPU and CUDA kernels only differ in how they loop over the entries below.
// Letters: V bottleneck width, T heads (slices of C·P), N token rows, B = V/4 quaternion block width.
//
// Every sum over products of stored values is taken in double in a fixed order. A product of two
// floats is exact in double, so a fused multiply-add gives the same bits as a multiply and an add:
// the f32 results of the two backends match bit for bit.
#pragma once
#include <cstdint>
#include <string>

#include "../core/op.h"
#include "../core/random.h"  // SAM_COBOT_HD, uniform01

namespace samcobot {

// The bottleneck kernels keep κ_t and Q_t (V² values) in shared memory on CUDA.
constexpr int64_t kCobotMaxWidth = 64;
// Rows per partial sum of dκ_t and dQ_t in cobot_bottleneck_backward: the same fixed partition on
// both backends, whatever the thread count, so the reductions are deterministic and identical.
constexpr int64_t kCobotRowsPerPartial = 64;

enum class CobotCoefficients { Dual, Local, Shared };
enum class CobotHead { Quaternion, Linear, None };

// The attributes of cobot_prepare and cobot_prepare_backward.
struct CobotPrepareMode {
  CobotCoefficients coefficients = CobotCoefficients::Dual;
  bool relation = true;  // false: C itself replaces the mixed C·P
  CobotHead head = CobotHead::Quaternion;
  // κ holds the mixed set C̃ (dual, shared) and the block-local γ (dual, local).
  SAM_COBOT_HD bool mixed() const { return coefficients != CobotCoefficients::Local; }
  SAM_COBOT_HD bool local() const { return coefficients != CobotCoefficients::Shared; }
};

// Reads {coefficients: 'dual' | 'local' | 'shared', relation: bool, head: 'quaternion' | 'linear' |
// 'none'} (defaults: dual, true, quaternion, the paper's full method); throws naming `op`.
inline CobotPrepareMode cobot_prepare_mode(const std::string& op, const Attrs& attrs) {
  CobotPrepareMode mode;
  std::string coefficients = attrs.string_or("coefficients", "dual");
  if (coefficients == "local") mode.coefficients = CobotCoefficients::Local;
  else if (coefficients == "shared") mode.coefficients = CobotCoefficients::Shared;
  else if (coefficients != "dual") fail("ERR_ARGUMENT", op, "'dual', 'local' or 'shared'", "attribute 'coefficients'", coefficients);
  mode.relation = attrs.number_or("relation", 1) != 0;
  std::string head = attrs.string_or("head", "quaternion");
  if (head == "linear") mode.head = CobotHead::Linear;
  else if (head == "none") mode.head = CobotHead::None;
  else if (head != "quaternion") fail("ERR_ARGUMENT", op, "'quaternion', 'linear' or 'none'", "attribute 'head'", head);
  return mode;
}

// The quaternion head (§4): Q = Σ_c E_c ⊗ W_c, used as y = s·Q. Block (p, q) of Q (input chunk p,
// output chunk q, chunks ordered r, i, j, k) is sign(p, q) · W_{p xor q}:
//   in\out   r    i    j    k
//   r        R    I    J    K
//   i       −I    R    K   −J
//   j       −J   −K    R    I
//   k       −K    J   −I    R
SAM_COBOT_HD constexpr int quaternion_component(int p, int q) { return p ^ q; }
SAM_COBOT_HD constexpr double quaternion_sign(int p, int q) {
  // Bit 4p + q is set where the table has a minus: nibble p, read from its low bit, is row p.
  return (0x5390u >> (4 * p + q)) & 1u ? -1.0 : 1.0;
}

// κ_t[v] (§3): (C·P)[v, t], or C[v, t] without the relation, when mixed; plus γ_t[v] when local.
// C (V, T), P (T, T), gamma (T, V).
template <class Real>
SAM_COBOT_HD inline double cobot_kappa(CobotPrepareMode mode, const Real* C, const Real* P, const Real* gamma, int64_t V, int64_t T,
                                       int64_t t, int64_t v) {
  double k = 0;
  if (mode.mixed()) {
    if (mode.relation)
      for (int64_t m = 0; m < T; ++m) k += double(C[v * T + m]) * double(P[m * T + t]);
    else
      k = double(C[v * T + t]);
  }
  if (mode.local()) k += double(gamma[t * V + v]);
  return k;
}

// Q_t[i, j] from the head parameters: heads (T, 4, B, B) in "in × out" layout for the quaternion
// head, heads (T, V, V) for the linear head, the identity for none.
template <class Real>
SAM_COBOT_HD inline double cobot_head_matrix(CobotHead head, const Real* heads, int64_t V, int64_t t, int64_t i, int64_t j) {
  if (head == CobotHead::None) return i == j ? 1.0 : 0.0;
  if (head == CobotHead::Linear) return double(heads[(t * V + i) * V + j]);
  int64_t B = V / 4;
  int p = int(i / B), q = int(j / B);
  return quaternion_sign(p, q) * double(heads[((t * 4 + quaternion_component(p, q)) * B + i % B) * B + j % B]);
}

// The gradients of cobot_prepare (§10.3-10.4), with G_c[v, t] = dκ_t[v] (dKappa (T, V)).
// dC[v, m]: (G_c·Pᵀ)[v, m] with the relation, G_c[v, m] without; 0 when κ holds no mixed set.
template <class Real>
SAM_COBOT_HD inline double cobot_grad_c(CobotPrepareMode mode, const Real* P, const Real* dkappa, int64_t V, int64_t T, int64_t v,
                                        int64_t m) {
  if (!mode.mixed()) return 0;
  if (!mode.relation) return double(dkappa[m * V + v]);
  double g = 0;
  for (int64_t t = 0; t < T; ++t) g += double(dkappa[t * V + v]) * double(P[m * T + t]);
  return g;
}

// dP[m, t] = (Cᵀ·G_c)[m, t] with the relation; 0 otherwise.
template <class Real>
SAM_COBOT_HD inline double cobot_grad_p(CobotPrepareMode mode, const Real* C, const Real* dkappa, int64_t V, int64_t T, int64_t m,
                                        int64_t t) {
  if (!mode.mixed() || !mode.relation) return 0;
  double g = 0;
  for (int64_t v = 0; v < V; ++v) g += double(C[v * T + m]) * double(dkappa[t * V + v]);
  return g;
}

// dγ_t[v] = dκ_t[v] when κ holds γ; 0 otherwise.
template <class Real>
SAM_COBOT_HD inline double cobot_grad_gamma(CobotPrepareMode mode, const Real* dkappa, int64_t e) {
  return mode.local() ? double(dkappa[e]) : 0.0;
}

// Entry e of dHeads from dQ (T, V, V): the quaternion head's dW_c = Σ_{p,q} E_c[p, q] · dQ_{pq}, a sum
// over the four blocks p (with q = p xor c) that hold W_c; dQ itself for the linear head; 0 for none.
template <class Real>
SAM_COBOT_HD inline double cobot_grad_head(CobotHead head, const Real* dq, int64_t V, int64_t e) {
  if (head == CobotHead::None) return 0;
  if (head == CobotHead::Linear) return double(dq[e]);
  int64_t B = V / 4;
  int64_t b = e % B, a = e / B % B;
  int c = int(e / (B * B) % 4);
  int64_t t = e / (4 * B * B);
  double g = 0;
  for (int p = 0; p < 4; ++p) {
    int q = p ^ c;
    g += quaternion_sign(p, q) * double(dq[(t * V + p * B + a) * V + q * B + b]);
  }
  return g;
}

// Dropout keeps element i when its counter-based uniform draw is at least p (native/core/random.h),
// so the CPU and CUDA masks are the same, and backward re-derives the forward's mask from the seed.
SAM_COBOT_HD inline bool dropout_keeps(uint64_t seed, int64_t i, double p) { return uniform01(seed, uint64_t(i), 0) >= p; }

}  // namespace samcobot
