// The mask-loss formulas (cobot-method.md §10.7), written once for validation and both backends'
// kernels, which only differ in how they loop over the pixels. Letters: P masks, M pixels per mask,
// z a logit, g its target in [0, 1], p = σ(z), q = 1 − p = σ(−z).
//
//   BCE   = (1/M) Σ [max(z, 0) − z·g + log(1 + e^(−|z|))]                  ∂/∂z = (p − g) / M
//   Dice  = 1 − (2 Σ p·g + ε) / (S + ε),  S = Σ p² + Σ g² (squared, MONAI squared_pred) or Σ p + Σ g (plain)
//           ∂/∂p = −2g / (S + ε) + (2p or 1) · (2 Σ p·g + ε) / (S + ε)²,     ∂p/∂z = p·q
//   Focal = (1/M) Σ α_t · bce · (1 − p_t)^γ  (RetinaNet on the sigmoid; α < 0: α_t = 1)
//           with p_t = p·g + q·(1 − g), so 1 − p_t = p·(1 − g) + q·g (no cancellation), α_t = α·g + (1 − α)(1 − g);
//           ∂/∂z = α_t · [(p − g)(1 − p_t)^γ − γ · bce · (1 − p_t)^(γ−1) · (2g − 1) · p·q] / M
//   total = (1/P) Σ_masks (w_bce·BCE + w_dice·Dice + w_focal·Focal)
//
// Stability for large |z|: p and q both come from e^(−|z|) (never 1 − p), and the log term is
// log1p(e^(−|z|)), so nothing overflows or cancels. The per-mask sums are taken in double over a
// fixed partition of each mask into chunks of kLossChunk pixels, whatever the thread layout.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

#include "../core/op.h"
#include "../core/random.h"  // SAM_COBOT_HD

namespace samcobot {

// Pixels per partial sum: the same fixed partition of each mask on both backends.
constexpr int64_t kLossChunk = 4096;

// The sums one pass over a mask's pixels collects.
enum MaskSum { kSumBce, kSumFocal, kSumPg, kSumPp, kSumGg, kSumP, kSumG, kMaskSums };

// The attributes of mask_loss (defaults: BCE + squared Dice, 1:1, the medical recipe).
struct MaskLossConfig {
  double w_bce = 1, w_dice = 1, w_focal = 0;
  bool squared = true;
  double smooth = 1e-5;
  double gamma = 2, alpha = 0.25;
  double grad_scale = 1;
};

// Reads {bce, dice, focal, diceForm, smooth, focalGamma, focalAlpha, gradScale}; throws naming `op`.
inline MaskLossConfig mask_loss_config(const std::string& op, const Attrs& attrs) {
  MaskLossConfig c;
  c.w_bce = attrs.finite_or(op, "bce", 1);
  c.w_dice = attrs.finite_or(op, "dice", 1);
  c.w_focal = attrs.finite_or(op, "focal", 0);
  std::string form = attrs.string_or("diceForm", "squared");
  if (form != "squared" && form != "plain") fail("ERR_ARGUMENT", op, "'squared' or 'plain'", "attribute 'diceForm'", "'" + form + "'");
  c.squared = form == "squared";
  c.smooth = attrs.finite_or(op, "smooth", 1e-5);
  if (c.smooth < 0) fail("ERR_ARGUMENT", op, "a number >= 0", "attribute 'smooth'", to_text(c.smooth));
  c.gamma = attrs.finite_or(op, "focalGamma", 2);
  if (c.gamma < 0) fail("ERR_ARGUMENT", op, "a number >= 0", "attribute 'focalGamma'", to_text(c.gamma));
  c.alpha = attrs.finite_or(op, "focalAlpha", 0.25);
  if (c.alpha > 1) fail("ERR_ARGUMENT", op, "a number <= 1 (negative: no alpha weighting)", "attribute 'focalAlpha'", to_text(c.alpha));
  c.grad_scale = attrs.finite_or(op, "gradScale", 1);
  return c;
}

// σ(z) and σ(−z) from one exponential e = e^(−|z|) (kept for the log term).
template <class T>
struct Sigmoid {
  T p, q, e;
};

template <class T>
SAM_COBOT_HD inline Sigmoid<T> sigmoid_pair(T z) {
  using std::exp;
  const T e = exp(-(z < 0 ? -z : z));
  const T d = T(1) + e;
  return z >= 0 ? Sigmoid<T>{T(1) / d, e / d, e} : Sigmoid<T>{e / d, T(1) / d, e};
}

// x^γ, with the usual γ = 0, 1, 2 as products: pow is the slowest thing in the loops.
template <class T>
SAM_COBOT_HD inline T focal_power(T x, T gamma) {
  using std::pow;
  return gamma == T(2) ? x * x : gamma == T(1) ? x : gamma == T(0) ? T(1) : pow(x, gamma);
}

template <class T>
struct PixelTerms {
  T p, q;          // σ(z), σ(−z)
  T bce;           // max(z, 0) − z·g + log(1 + e^(−|z|))
  T one_minus_pt;  // p·(1 − g) + q·g
  T alpha_t;       // 1 without alpha weighting
  T focal;         // α_t · bce · (1 − p_t)^γ
};

template <class T>
SAM_COBOT_HD inline PixelTerms<T> pixel_terms(T z, T g, T gamma, T alpha) {
  using std::log1p;
  const Sigmoid<T> s = sigmoid_pair(z);
  PixelTerms<T> t;
  t.p = s.p;
  t.q = s.q;
  t.bce = (z > 0 ? z : T(0)) - z * g + log1p(s.e);
  t.one_minus_pt = t.p * (T(1) - g) + t.q * g;
  t.alpha_t = alpha < 0 ? T(1) : alpha * g + (T(1) - alpha) * (T(1) - g);
  t.focal = t.alpha_t * t.bce * focal_power(t.one_minus_pt, gamma);
  return t;
}

// Adds one pixel's contributions to a mask's sums.
template <class T>
SAM_COBOT_HD inline void add_pixel_sums(double* sums, T z, T g, T gamma, T alpha) {
  PixelTerms<T> t = pixel_terms(z, g, gamma, alpha);
  sums[kSumBce] += double(t.bce);
  sums[kSumFocal] += double(t.focal);
  sums[kSumPg] += double(t.p) * double(g);
  sums[kSumPp] += double(t.p) * double(t.p);
  sums[kSumGg] += double(g) * double(g);
  sums[kSumP] += double(t.p);
  sums[kSumG] += double(g);
}

// One mask's loss terms, and the per-pixel gradient coefficients they give.
struct MaskLossTerms {
  double bce, dice, focal;
};

// ∂(gradScale · total)/∂z = bce·(p − g) + (dice_g·g + dice_p·(p or 1))·p·q + focal·∂(focal term)/∂z·M.
template <class T>
struct MaskGradCoefficients {
  T bce, dice_g, dice_p, focal;
};

SAM_COBOT_HD inline MaskLossTerms mask_loss_terms(const double* sums, int64_t M, const MaskLossConfig& c) {
  const double s = (c.squared ? sums[kSumPp] + sums[kSumGg] : sums[kSumP] + sums[kSumG]) + c.smooth;
  return {sums[kSumBce] / double(M), 1.0 - (2.0 * sums[kSumPg] + c.smooth) / s, sums[kSumFocal] / double(M)};
}

template <class T>
SAM_COBOT_HD inline MaskGradCoefficients<T> mask_grad_coefficients(const double* sums, int64_t P, int64_t M, const MaskLossConfig& c) {
  const double s = (c.squared ? sums[kSumPp] + sums[kSumGg] : sums[kSumP] + sums[kSumG]) + c.smooth;
  const double n = 2.0 * sums[kSumPg] + c.smooth;
  const double per_mask = c.grad_scale / double(P);
  return {T(per_mask * c.w_bce / double(M)), T(per_mask * c.w_dice * -2.0 / s),
          T(per_mask * c.w_dice * (c.squared ? 2.0 : 1.0) * n / (s * s)), T(per_mask * c.w_focal / double(M))};
}

// gradScale · ∂total/∂z for one pixel of a mask with coefficients k (the log and power terms only
// when the focal term is on).
template <class T>
SAM_COBOT_HD inline T pixel_grad(T z, T g, const MaskGradCoefficients<T>& k, bool squared, T gamma, T alpha) {
  if (k.focal == T(0)) {
    const Sigmoid<T> s = sigmoid_pair(z);
    return k.bce * (s.p - g) + (k.dice_g * g + k.dice_p * (squared ? s.p : T(1))) * s.p * s.q;
  }
  const PixelTerms<T> t = pixel_terms(z, g, gamma, alpha);
  const T x = t.one_minus_pt;
  // (1 − p_t)^(γ−1) · p·q → 0 as 1 − p_t → 0 for every γ > 0; pow would give ∞ · 0 for γ < 1.
  const T slope = gamma > 0 && x > 0 ? gamma * focal_power(x, gamma - T(1)) : T(0);
  const T focal = t.alpha_t * ((t.p - g) * focal_power(x, gamma) - slope * t.bce * (T(2) * g - T(1)) * t.p * t.q);
  return k.bce * (t.p - g) + (k.dice_g * g + k.dice_p * (squared ? t.p : T(1))) * t.p * t.q + k.focal * focal;
}

}  // namespace samcobot
