// The optimizer steps, the global gradient norm and the clipping coefficient on CUDA: the twin of
// native/cpu/optim.cc (formulas: native/ops/optim_math.h). f32 only.
//
// Multi-tensor launches: a table of up to kMaxTensors tensors (their pointers, sizes, per-tensor
// scalars and first block) travels as a kernel argument, and block b updates chunk
// b − first_block[t] (kOptimChunk elements) of the tensor t whose block range holds b. One launch
// per kMaxTensors tensors replaces one per tensor: the decoder alone has 120 small tensors.
// global_norm walks the same chunks: each block writes its sum of squares (double, fixed tree) to
// its own slot, and one thread adds the slots in order, so the norm is deterministic; the slots
// are the CPU's partition too.
#include <algorithm>

#include "../ops/optim_math.h"
#include "optim.h"
#include "runtime.h"

namespace samcobot::cuda {
namespace {

constexpr int kThreads = 256;
// Tensors per launch: the table (with 4 pointers per tensor) stays well under 4 KB of arguments.
constexpr int kMaxTensors = 32;

struct NoScalars {};

template <int Depth, class PerTensor>
struct TensorTable {
  float* data[Depth][kMaxTensors];
  int64_t n[kMaxTensors];
  int64_t first_block[kMaxTensors + 1];
  PerTensor scalars[kMaxTensors];
  int count;
};

// The table slot whose block range holds this block (count is at most kMaxTensors).
template <class Table>
__device__ inline int slot_of_block(const Table& table) {
  int t = 0;
  while (t + 1 < table.count && int64_t(blockIdx.x) >= table.first_block[t + 1]) ++t;
  return t;
}

// Calls fill(i, table, slot) for tensors i = 0..count-1 (it sets the slot's pointers and scalars
// and returns the tensor's size), and launch(table, blocks, first_global_block) for every full
// table and the last one.
template <int Depth, class PerTensor, class Fill, class Launch>
void for_each_table(int64_t count, Fill fill, Launch launch) {
  TensorTable<Depth, PerTensor> table{};
  int64_t blocks = 0, launched = 0;
  for (int64_t i = 0; i < count; ++i) {
    const int slot = table.count++;
    table.n[slot] = fill(i, table, slot);
    table.first_block[slot] = blocks;
    blocks += optim_chunks(table.n[slot]);
    if (table.count == kMaxTensors || i == count - 1) {
      table.first_block[table.count] = blocks;
      if (blocks > 0) launch(table, blocks, launched);
      launched += blocks;
      table = TensorTable<Depth, PerTensor>{};
      blocks = 0;
    }
  }
}

// Elements [lo, hi) of the block's chunk of tensor slot t.
struct ChunkRange {
  int64_t lo, hi;
};

template <class Table>
__device__ inline ChunkRange chunk_of_block(const Table& table, int t) {
  const int64_t lo = (int64_t(blockIdx.x) - table.first_block[t]) * kOptimChunk;
  return {lo, min(lo + kOptimChunk, table.n[t])};
}

__global__ void adam_kernel(TensorTable<4, AdamTensorScalars<float>> table, const float* scale, AdamScalars<float> s) {
  const int t = slot_of_block(table);
  const ChunkRange r = chunk_of_block(table, t);
  float *p = table.data[0][t], *g = table.data[1][t], *m = table.data[2][t], *v = table.data[3][t];
  const float k = *scale;
  for (int64_t i = r.lo + threadIdx.x; i < r.hi; i += kThreads) {
    float pi = p[i], mi = m[i], vi = v[i];
    adam_update(pi, g[i], mi, vi, k, s, table.scalars[t]);
    p[i] = pi;
    m[i] = mi;
    v[i] = vi;
  }
}

__global__ void sgd_kernel(TensorTable<3, SgdTensorScalars<float>> table, const float* scale, SgdScalars<float> s) {
  const int t = slot_of_block(table);
  const ChunkRange r = chunk_of_block(table, t);
  float *p = table.data[0][t], *g = table.data[1][t], *buf = table.data[2][t];
  const float k = *scale;
  for (int64_t i = r.lo + threadIdx.x; i < r.hi; i += kThreads) {
    float pi = p[i], bi = buf[i];
    sgd_update(pi, g[i], bi, k, s, table.scalars[t]);
    p[i] = pi;
    buf[i] = bi;
  }
}

// Block b: the sum of squares of its chunk into partial[first + b], in a fixed tree.
__global__ void squares_kernel(TensorTable<1, NoScalars> table, int64_t first, double* partial) {
  __shared__ double sums[kThreads];
  const int t = slot_of_block(table);
  const ChunkRange r = chunk_of_block(table, t);
  const float* g = table.data[0][t];
  double mine = 0;
  for (int64_t i = r.lo + threadIdx.x; i < r.hi; i += kThreads) mine += double(g[i]) * double(g[i]);
  sums[threadIdx.x] = mine;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) sums[threadIdx.x] += sums[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[first + blockIdx.x] = sums[0];
}

__global__ void norm_finish_kernel(const double* partial, int64_t count, float* norm) {
  double sum = 0;
  for (int64_t i = 0; i < count; ++i) sum += partial[i];
  *norm = float(sqrt(sum));
}

__global__ void clip_scale_kernel(const float* norm, float max_norm, float* scale) { *scale = clip_coefficient(*norm, max_norm); }

}  // namespace

void adam_step(const OpCall& call) {
  const int64_t k = int64_t(call.inputs.size() - 1) / 4;
  const AdamConfig c = adam_config(call.name, call.attrs, k);
  const AdamScalars<float> s = adam_scalars<float>(c);
  for_each_table<4, AdamTensorScalars<float>>(
      k,
      [&](int64_t i, auto& table, int slot) {
        for (int j = 0; j < 4; ++j) table.data[j][slot] = call.in(size_t(1 + 4 * i + j)).data<float>();
        table.scalars[slot] = adam_tensor_scalars<float>(c, size_t(i));
        return call.in(size_t(1 + 4 * i)).numel();
      },
      [&](const auto& table, int64_t blocks, int64_t) {
        adam_kernel<<<unsigned(blocks), kThreads, 0, stream()>>>(table, call.in(0).data<float>(), s);
        CUDA_CHECK_LAUNCH();
      });
}

void sgd_step(const OpCall& call) {
  const int64_t k = int64_t(call.inputs.size() - 1) / 3;
  const SgdConfig c = sgd_config(call.name, call.attrs, k);
  const SgdScalars<float> s = sgd_scalars<float>(c);
  for_each_table<3, SgdTensorScalars<float>>(
      k,
      [&](int64_t i, auto& table, int slot) {
        for (int j = 0; j < 3; ++j) table.data[j][slot] = call.in(size_t(1 + 3 * i + j)).data<float>();
        table.scalars[slot] = sgd_tensor_scalars<float>(c, size_t(i));
        return call.in(size_t(1 + 3 * i)).numel();
      },
      [&](const auto& table, int64_t blocks, int64_t) {
        sgd_kernel<<<unsigned(blocks), kThreads, 0, stream()>>>(table, call.in(0).data<float>(), s);
        CUDA_CHECK_LAUNCH();
      });
}

void global_norm(const OpCall& call) {
  const int64_t count = int64_t(call.inputs.size());
  int64_t chunks = 0;
  for (const Tensor& g : call.inputs) chunks += optim_chunks(g.numel());
  double* partial = static_cast<double*>(workspace(size_t(std::max<int64_t>(chunks, 1)) * sizeof(double)));
  for_each_table<1, NoScalars>(
      count,
      [&](int64_t i, auto& table, int slot) {
        table.data[0][slot] = call.in(size_t(i)).data<float>();
        return call.in(size_t(i)).numel();
      },
      [&](const auto& table, int64_t blocks, int64_t first) {
        squares_kernel<<<unsigned(blocks), kThreads, 0, stream()>>>(table, first, partial);
        CUDA_CHECK_LAUNCH();
      });
  norm_finish_kernel<<<1, 1, 0, stream()>>>(partial, chunks, call.out(0).data<float>());
  CUDA_CHECK_LAUNCH();
}

void clip_scale(const OpCall& call) {
  const float max_norm = float(call.attrs.number(call.name, "maxNorm"));
  clip_scale_kernel<<<1, 1, 0, stream()>>>(call.in(0).data<float>(), max_norm, call.out(0).data<float>());
  CUDA_CHECK_LAUNCH();
}

}  // namespace samcobot::cuda
