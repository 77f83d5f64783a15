// The mask losses and the IoU-prediction MSE on the CPU, value and gradient in one op
// (formulas: native/ops/loss_math.h, cobot-method.md §10.7).
//
// mask_loss makes two passes over every mask: the first collects the mask's sums (BCE, focal,
// Σp·g, Σp², Σg², Σp, Σg), which fix its Dice and the per-pixel gradient coefficients; the second
// writes the gradient. Work items are (mask, chunk of kLossChunk pixels): each chunk's sums are
// taken in double into its own slot, and each mask adds its chunks in order, so the result does
// not depend on the thread count. mse_loss is the same with one sum.
#include "loss.h"

#include <algorithm>
#include <vector>

#include "../core/thread_pool.h"
#include "../ops/loss_math.h"
#include "dispatch.h"

namespace samcobot::cpu {
namespace {

int64_t chunks_of(int64_t n) { return (n + kLossChunk - 1) / kLossChunk; }

// Calls body(item, lo, hi) for every chunk [lo, hi) of pixels of every one of `rows` rows of n
// pixels, across the pool; item = row · chunks + chunk.
template <class Body>
void for_each_chunk(int64_t rows, int64_t n, Body body) {
  const int64_t chunks = chunks_of(n);
  parallel_for(rows * chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t row = item / chunks, lo = row * n + (item % chunks) * kLossChunk;
      body(item, lo, std::min(lo + kLossChunk, (row + 1) * n));
    }
  });
}

template <class T>
void mask_loss_typed(const OpCall& call, const MaskLossConfig& c) {
  const Tensor& logits = call.in(0);
  const int64_t P = logits.dim(0), M = logits.numel() / P, chunks = chunks_of(M);
  const T* z = logits.data<T>();       // (P, M)
  const T* g = call.in(1).data<T>();   // (P, M)
  T* dz = call.out(2).data<T>();       // (P, M)
  const T gamma = T(c.gamma), alpha = T(c.alpha);
  std::vector<double> partial(static_cast<size_t>(P * chunks * kMaskSums), 0.0);  // (P, chunks, kMaskSums)
  for_each_chunk(P, M, [&](int64_t item, int64_t lo, int64_t hi) {
    double* sums = partial.data() + item * kMaskSums;
    for (int64_t i = lo; i < hi; ++i) add_pixel_sums(sums, z[i], g[i], gamma, alpha);
  });
  std::vector<MaskGradCoefficients<T>> coefficients(static_cast<size_t>(P));
  double totals[3] = {0, 0, 0};
  for (int64_t m = 0; m < P; ++m) {
    double sums[kMaskSums] = {};
    for (int64_t k = 0; k < chunks; ++k)
      for (int s = 0; s < kMaskSums; ++s) sums[s] += partial[(m * chunks + k) * kMaskSums + s];
    MaskLossTerms terms = mask_loss_terms(sums, M, c);
    totals[0] += terms.bce;
    totals[1] += terms.dice;
    totals[2] += terms.focal;
    coefficients[m] = mask_grad_coefficients<T>(sums, P, M, c);
  }
  T* total = call.out(0).data<T>();
  T* means = call.out(1).data<T>();
  for (int i = 0; i < 3; ++i) means[i] = T(totals[i] / double(P));
  total[0] = T((c.w_bce * totals[0] + c.w_dice * totals[1] + c.w_focal * totals[2]) / double(P));
  for_each_chunk(P, M, [&](int64_t item, int64_t lo, int64_t hi) {
    const MaskGradCoefficients<T>& k = coefficients[item / chunks];
    for (int64_t i = lo; i < hi; ++i) dz[i] = pixel_grad(z[i], g[i], k, c.squared, gamma, alpha);
  });
}

template <class T>
void mse_loss_typed(const OpCall& call) {
  const int64_t n = call.in(0).numel(), chunks = chunks_of(n);
  const T* pred = call.in(0).data<T>();
  const T* target = call.in(1).data<T>();
  T* dpred = call.out(1).data<T>();
  const T slope = T(2.0 * call.attrs.number_or("gradScale", 1) / double(n));
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  for_each_chunk(1, n, [&](int64_t item, int64_t lo, int64_t hi) {
    double sum = 0;
    for (int64_t i = lo; i < hi; ++i) {
      const T d = pred[i] - target[i];
      sum += double(d) * double(d);
      dpred[i] = slope * d;
    }
    partial[item] = sum;
  });
  double sum = 0;
  for (double s : partial) sum += s;
  call.out(0).data<T>()[0] = T(sum / double(n));
}

}  // namespace

void mask_loss(const OpCall& call) {
  const MaskLossConfig c = mask_loss_config(call.name, call.attrs);
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) { mask_loss_typed<decltype(zero)>(call, c); });
}

void mse_loss(const OpCall& call) {
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) { mse_loss_typed<decltype(zero)>(call); });
}

}  // namespace samcobot::cpu
