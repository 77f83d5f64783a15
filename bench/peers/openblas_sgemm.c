/* Peer for bench/gemm: times OpenBLAS cblas_sgemm (row-major, no transposes) on the shapes given as
 * arguments, "MxKxN" each, and prints one line per shape: "MxKxN <median GFLOP/s>". The first
 * argument is the number of timed samples per shape (after one warm-up), the second the FLOPs a
 * sample should hold: it repeats the product until then, so small shapes are not timed below the
 * clock's noise (bench/gemm.ts and torch_mm.py use the same rule). Compiled by the bench with
 * `cc -O2 openblas_sgemm.c -lopenblas`, so it measures whichever kernels OpenBLAS picks at run time
 * (OPENBLAS_CORETYPE set for this process only, by the caller, forces one). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int compare_doubles(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s RUNS FLOPS_PER_SAMPLE MxKxN...\n", argv[0]);
    return 2;
  }
  int runs = atoi(argv[1]);
  double flops_per_sample = atof(argv[2]);
  if (runs < 1) runs = 1;
  double* rates = malloc(sizeof(double) * runs);
  for (int s = 3; s < argc; ++s) {
    long M, K, N;
    if (sscanf(argv[s], "%ldx%ldx%ld", &M, &K, &N) != 3) {
      fprintf(stderr, "bad shape %s\n", argv[s]);
      return 2;
    }
    float* A = malloc(sizeof(float) * M * K);  /* (M, K) */
    float* B = malloc(sizeof(float) * K * N);  /* (K, N) */
    float* C = malloc(sizeof(float) * M * N);  /* (M, N) */
    for (long i = 0; i < M * K; ++i) A[i] = (float)((i * 7 % 13) - 6) / 8.0f;
    for (long i = 0; i < K * N; ++i) B[i] = (float)((i * 5 % 11) - 5) / 8.0f;
    double flops = 2.0 * M * N * K;
    long repeats = (long)(flops_per_sample / flops) + 1;
    for (int r = -1; r < runs; ++r) {
      double t0 = now_seconds();
      for (long i = 0; i < repeats; ++i)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
      double t = now_seconds() - t0;
      if (r >= 0) rates[r] = flops * repeats / t * 1e-9;
    }
    qsort(rates, runs, sizeof(double), compare_doubles);
    printf("%s %.2f\n", argv[s], rates[runs / 2]);
    fflush(stdout);
    free(A);
    free(B);
    free(C);
  }
  free(rates);
  return 0;
}
