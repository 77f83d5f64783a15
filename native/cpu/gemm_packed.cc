// The f32 CPU GEMM (cpu::sgemm), BLIS-style, on the micro-kernel cpu_level() selects (gemm_kernels.h).
//
// Loops, outermost first, for C(M, N) = alpha * op(A)(M, K) op(B)(K, N) + beta * C:
//   ic: rows of C in blocks of MC          pack op(A)[ic.., pc..] into MR-row panels (all threads)
//   pc: K in blocks of KC                  beta applies on the first block, then C accumulates
//   -- parallel: C's columns (or, when that balances worse, A's panels) in a few pieces per thread;
//      per NC columns of its piece, a thread packs op(B)[pc.., jc..] into its own NR-column panels --
//   ir: A panels (MR x KC, stays in L1)
//   jr: B panels (KC x NR, the block stays in this core's L2)  -> one micro-kernel call per tile
// Packing makes every transpose combination one kernel (op() is resolved while copying) and gives
// the micro-kernel contiguous, aligned, zero-padded panels; edge tiles go through a scratch tile.
// Packing buffers are per thread and kept between calls, so a training step allocates nothing.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "../core/cpu_features.h"
#include "../core/thread_pool.h"
#include "gemm.h"
#include "gemm_kernels.h"

namespace samcobot::cpu {
namespace {

constexpr int64_t kMaxTile = 16 * 64;  // floats in the largest micro-kernel tile (gemm_kernels.h)
// Waking the pool's threads costs tens of microseconds per parallel region (37 us measured on the
// 2-vCPU VM this was tuned on), so a block runs on one thread unless it holds ~150 us of work.
constexpr double kParallelFlops = 1 << 24;
constexpr int64_t kPartsPerThread = 2;  // work pieces per thread (plan_split)

const GemmKernel& active_kernel() {
  static const GemmKernel* kernel = [] {
    const GemmKernel* chosen = nullptr;
    if (cpu_level() >= CpuLevel::Avx512) chosen = gemm_kernel_avx512();
    if (!chosen && cpu_level() >= CpuLevel::Avx2Fma) chosen = gemm_kernel_avx2();
    return chosen ? chosen : gemm_kernel_portable();
  }();
  return *kernel;
}

// A 64-byte-aligned buffer that only grows; one per thread and role, kept for the next call.
class PackBuffer {
 public:
  ~PackBuffer() { std::free(data_); }
  float* get(int64_t floats) {
    if (floats > size_) {
      std::free(data_);
      size_t bytes = (static_cast<size_t>(floats) * sizeof(float) + 63) / 64 * 64;
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!data_) throw std::bad_alloc();
      size_ = floats;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  int64_t size_ = 0;
};

// Splits `total` into equal blocks of at most `limit` (a multiple of `unit` unless it is the
// whole), so K = 400 becomes 2 x 200 rather than 384 + 16.
int64_t balanced_block(int64_t total, int64_t limit, int64_t unit) {
  int64_t blocks = (total + limit - 1) / limit;
  int64_t size = (total + blocks - 1) / blocks;
  return blocks == 1 ? total : (size + unit - 1) / unit * unit;
}

// Packs op(A)[i0 : i0 + rows, p0 : p0 + kc] as one MR-row panel, dst (kc, mr), zero rows past `rows`.
void pack_a_panel(const float* A, int64_t lda, bool trans_a, int64_t i0, int64_t rows, int64_t p0, int64_t kc, int64_t mr, float* dst) {
  if (trans_a) {  // op(A)(i, k) = A[k, i]: each k is a contiguous run of rows
    for (int64_t k = 0; k < kc; ++k) {
      float* out = dst + k * mr;
      std::memcpy(out, A + (p0 + k) * lda + i0, rows * sizeof(float));
      std::fill(out + rows, out + mr, 0.0f);
    }
  } else {
    for (int64_t r = 0; r < rows; ++r) {
      const float* src = A + (i0 + r) * lda + p0;
      for (int64_t k = 0; k < kc; ++k) dst[k * mr + r] = src[k];
    }
    for (int64_t r = rows; r < mr; ++r)
      for (int64_t k = 0; k < kc; ++k) dst[k * mr + r] = 0.0f;
  }
}

// Packs op(B)[p0 : p0 + kc, j0 : j0 + cols] as one NR-column panel, dst (kc, nr), zero columns past `cols`.
void pack_b_panel(const float* B, int64_t ldb, bool trans_b, int64_t j0, int64_t cols, int64_t p0, int64_t kc, int64_t nr, float* dst) {
  if (trans_b) {  // op(B)(k, j) = B[j, k]: each column is a contiguous run of k
    for (int64_t c = 0; c < cols; ++c) {
      const float* src = B + (j0 + c) * ldb + p0;
      for (int64_t k = 0; k < kc; ++k) dst[k * nr + c] = src[k];
    }
    for (int64_t c = cols; c < nr; ++c)
      for (int64_t k = 0; k < kc; ++k) dst[k * nr + c] = 0.0f;
  } else {
    for (int64_t k = 0; k < kc; ++k) {
      float* out = dst + k * nr;
      std::memcpy(out, B + (p0 + k) * ldb + j0, cols * sizeof(float));
      std::fill(out + cols, out + nr, 0.0f);
    }
  }
}

// C = beta * C (beta == 0 writes zeros whatever C held): the whole product when K == 0 or alpha == 0.
void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
}

struct Problem {
  bool trans_b;
  float alpha;
  const float* B;
  int64_t ldb;
  float* C;
  int64_t ldc;
};

// One thread's share of an (ic, pc) block: A panels [p_lo, p_hi) of the packed A block (m rows,
// starting at C row i0) times op(B)[p0 : p0 + kc, j_lo : j_hi].
void multiply_part(const GemmKernel& kern, const Problem& pr, const float* packed_a, int64_t i0, int64_t m, int64_t p0, int64_t kc,
                   float beta, int64_t p_lo, int64_t p_hi, int64_t j_lo, int64_t j_hi) {
  thread_local PackBuffer b_buffer;
  const int64_t mr = kern.mr, nr = kern.nr;
  float* packed_b = b_buffer.get(kc * std::min(kern.nc, (j_hi - j_lo + nr - 1) / nr * nr));
  alignas(64) float tile[kMaxTile];  // (mr, nr) scratch for edge tiles
  for (int64_t jc = j_lo; jc < j_hi; jc += kern.nc) {
    int64_t n_block = std::min(kern.nc, j_hi - jc);
    int64_t b_panels = (n_block + nr - 1) / nr;
    for (int64_t q = 0; q < b_panels; ++q)
      pack_b_panel(pr.B, pr.ldb, pr.trans_b, jc + q * nr, std::min(nr, n_block - q * nr), p0, kc, nr, packed_b + q * kc * nr);
    for (int64_t p = p_lo; p < p_hi; ++p) {
      const float* a_panel = packed_a + p * kc * mr;
      int64_t rows = std::min(mr, m - p * mr);
      for (int64_t q = 0; q < b_panels; ++q) {
        int64_t cols = std::min(nr, n_block - q * nr);
        float* c = pr.C + (i0 + p * mr) * pr.ldc + jc + q * nr;
        if (rows == mr && cols == nr) {
          kern.run(kc, a_panel, packed_b + q * kc * nr, c, pr.ldc, pr.alpha, beta);
          continue;
        }
        kern.run(kc, a_panel, packed_b + q * kc * nr, tile, nr, 1.0f, 0.0f);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < cols; ++j) {
            float& out = c[r * pr.ldc + j];
            out = pr.alpha * tile[r * nr + j] + (beta == 0.0f ? 0.0f : beta * out);
          }
      }
    }
  }
}

struct WorkSplit {
  int64_t parts;
  bool columns;  // split C's columns (else A's panels, i.e. C's rows)
};

// How an (ic, pc) block is shared: pieces of C's columns, so that each thread keeps its own B block
// in its L2, unless pieces of A's panels divide the work more evenly (narrow C). Up to
// kPartsPerThread pieces per thread, taken as threads free up, so that a core slowed by other work
// holds up the rest less.
WorkSplit plan_split(int64_t n_tiles, int64_t a_panels) {
  const int64_t threads = thread_count();
  // The largest share of `units` a thread gets when pieces go round-robin, over the mean share.
  auto imbalance = [&](int64_t units) {
    int64_t parts = std::min(units, threads * kPartsPerThread), largest = 0;
    for (int64_t first = 0; first < threads; ++first) {
      int64_t share = 0;
      for (int64_t t = first; t < parts; t += threads) share += units * (t + 1) / parts - units * t / parts;
      largest = std::max(largest, share);
    }
    return double(largest * threads) / double(units);
  };
  bool columns = imbalance(n_tiles) <= imbalance(a_panels);
  return {std::min(columns ? n_tiles : a_panels, threads * kPartsPerThread), columns};
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
           int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) return scale_c(M, N, beta, C, ldc);
  const GemmKernel& kern = active_kernel();
  const int64_t mr = kern.mr, nr = kern.nr;
  const int64_t mc = balanced_block(M, kern.mc, mr), kc = balanced_block(K, kern.kc, 1);
  const Problem pr{trans_b, alpha, B, ldb, C, ldc};
  thread_local PackBuffer a_buffer;
  float* packed_a = a_buffer.get((mc + mr - 1) / mr * mr * kc);
  const int64_t n_tiles = (N + nr - 1) / nr;

  for (int64_t i0 = 0; i0 < M; i0 += mc) {
    const int64_t m = std::min(mc, M - i0), a_panels = (m + mr - 1) / mr;
    for (int64_t p0 = 0; p0 < K; p0 += kc) {
      const int64_t k = std::min(kc, K - p0);
      const float beta_here = p0 == 0 ? beta : 1.0f;
      const bool parallel = 2.0 * double(m) * double(N) * double(k) >= kParallelFlops;
      parallel_for(a_panels, parallel ? std::max<int64_t>(1, 16384 / (mr * k)) : a_panels, [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p)
          pack_a_panel(A, lda, trans_a, i0 + p * mr, std::min(mr, m - p * mr), p0, k, mr, packed_a + p * k * mr);
      });
      const WorkSplit split = parallel ? plan_split(n_tiles, a_panels) : WorkSplit{1, true};
      parallel_for(split.parts, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t t = lo; t < hi; ++t) {
          if (split.columns)
            multiply_part(kern, pr, packed_a, i0, m, p0, k, beta_here, 0, a_panels, n_tiles * t / split.parts * nr,
                          std::min(N, n_tiles * (t + 1) / split.parts * nr));
          else
            multiply_part(kern, pr, packed_a, i0, m, p0, k, beta_here, a_panels * t / split.parts, a_panels * (t + 1) / split.parts, 0, N);
        }
      });
    }
  }
}

}  // namespace samcobot::cpu
