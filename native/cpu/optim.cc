// The optimizer steps, the global gradient norm and the clipping coefficient on the CPU
// (formulas: native/ops/optim_math.h, cobot-method.md §10.8).
//
// The steps are elementwise over every tensor of the call at once: the work items are the chunks
// (kOptimChunk elements) of all tensors, handed to the pool in one parallel_for, so a call over
// hundreds of small tensors costs one parallel region, not one per tensor. global_norm uses the same
// chunks: each writes its sum of squares (in double) to its own slot, and the slots are added in
// order, so the norm does not depend on the thread count.
#include "optim.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/thread_pool.h"
#include "../ops/optim_math.h"
#include "dispatch.h"

namespace samcobot::cpu {
namespace {

struct Chunk {
  int64_t tensor, lo, hi;
};

// The chunks of `count` tensors whose sizes size(t) gives, tensor by tensor.
template <class Size>
std::vector<Chunk> chunks_of(int64_t count, Size size) {
  std::vector<Chunk> chunks;
  for (int64_t t = 0; t < count; ++t)
    for (int64_t lo = 0; lo < size(t); lo += kOptimChunk) chunks.push_back({t, lo, std::min(lo + kOptimChunk, size(t))});
  return chunks;
}

template <class Body>
void for_each_chunk(const std::vector<Chunk>& chunks, Body body) {
  parallel_for(int64_t(chunks.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) body(c, chunks[c]);
  });
}

template <class T>
void adam_typed(const OpCall& call, const AdamConfig& c) {
  const int64_t k = int64_t(call.inputs.size() - 1) / 4;
  const T scale = call.in(0).data<T>()[0];
  const AdamScalars<T> s = adam_scalars<T>(c);
  std::vector<AdamTensorScalars<T>> per_tensor;
  for (int64_t t = 0; t < k; ++t) per_tensor.push_back(adam_tensor_scalars<T>(c, size_t(t)));
  const auto tensor = [&](int64_t t, int j) { return call.in(size_t(1 + 4 * t + j)).data<T>(); };
  for_each_chunk(chunks_of(k, [&](int64_t t) { return call.in(size_t(1 + 4 * t)).numel(); }), [&](int64_t, const Chunk& ch) {
    T *p = tensor(ch.tensor, 0), *g = tensor(ch.tensor, 1), *m = tensor(ch.tensor, 2), *v = tensor(ch.tensor, 3);
    for (int64_t i = ch.lo; i < ch.hi; ++i) adam_update(p[i], g[i], m[i], v[i], scale, s, per_tensor[ch.tensor]);
  });
}

template <class T>
void sgd_typed(const OpCall& call, const SgdConfig& c) {
  const int64_t k = int64_t(call.inputs.size() - 1) / 3;
  const T scale = call.in(0).data<T>()[0];
  const SgdScalars<T> s = sgd_scalars<T>(c);
  std::vector<SgdTensorScalars<T>> per_tensor;
  for (int64_t t = 0; t < k; ++t) per_tensor.push_back(sgd_tensor_scalars<T>(c, size_t(t)));
  const auto tensor = [&](int64_t t, int j) { return call.in(size_t(1 + 3 * t + j)).data<T>(); };
  for_each_chunk(chunks_of(k, [&](int64_t t) { return call.in(size_t(1 + 3 * t)).numel(); }), [&](int64_t, const Chunk& ch) {
    T *p = tensor(ch.tensor, 0), *g = tensor(ch.tensor, 1), *buf = tensor(ch.tensor, 2);
    for (int64_t i = ch.lo; i < ch.hi; ++i) sgd_update(p[i], g[i], buf[i], scale, s, per_tensor[ch.tensor]);
  });
}

template <class T>
void global_norm_typed(const OpCall& call) {
  const std::vector<Chunk> chunks = chunks_of(int64_t(call.inputs.size()), [&](int64_t t) { return call.in(size_t(t)).numel(); });
  std::vector<double> partial(chunks.size(), 0.0);
  for_each_chunk(chunks, [&](int64_t c, const Chunk& ch) {
    const T* g = call.in(size_t(ch.tensor)).data<T>();
    double sum = 0;
    for (int64_t i = ch.lo; i < ch.hi; ++i) sum += double(g[i]) * double(g[i]);
    partial[size_t(c)] = sum;
  });
  double sum = 0;
  for (double s : partial) sum += s;
  call.out(0).data<T>()[0] = T(std::sqrt(sum));
}

}  // namespace

void adam_step(const OpCall& call) {
  const AdamConfig c = adam_config(call.name, call.attrs, int64_t(call.inputs.size() - 1) / 4);
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) { adam_typed<decltype(zero)>(call, c); });
}

void sgd_step(const OpCall& call) {
  const SgdConfig c = sgd_config(call.name, call.attrs, int64_t(call.inputs.size() - 1) / 3);
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) { sgd_typed<decltype(zero)>(call, c); });
}

void global_norm(const OpCall& call) {
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) { global_norm_typed<decltype(zero)>(call); });
}

void clip_scale(const OpCall& call) {
  const double max_norm = call.attrs.number(call.name, "maxNorm");
  for_float_types(call.name, call.in(0).dtype(), [&](auto zero) {
    using T = decltype(zero);
    call.out(0).data<T>()[0] = clip_coefficient(call.in(0).data<T>()[0], T(max_norm));
  });
}

}  // namespace samcobot::cpu
