"""Peer for bench/gemm: times PyTorch CPU torch.mm in float32 on the shapes given as arguments,
"MxKxN" each, printing one line per shape: "MxKxN <median GFLOP/s>". The first argument is the
number of timed samples per shape (after one warm-up), the second the FLOPs a sample should hold:
it repeats the product until then, the rule bench/gemm.ts and openblas_sgemm.c use. Threads: PyTorch's default (the
physical cores)."""
import sys
import time

import torch


def main() -> None:
    runs = max(1, int(sys.argv[1]))
    flops_per_sample = float(sys.argv[2])
    generator = torch.Generator().manual_seed(0)
    for shape in sys.argv[3:]:
        m, k, n = (int(v) for v in shape.split("x"))
        a = torch.rand(m, k, generator=generator) - 0.5  # (M, K)
        b = torch.rand(k, n, generator=generator) - 0.5  # (K, N)
        out = torch.empty(m, n)  # (M, N)
        flops = 2.0 * m * n * k
        repeats = int(flops_per_sample / flops) + 1
        rates = []
        for r in range(-1, runs):
            start = time.perf_counter()
            for _ in range(repeats):
                torch.mm(a, b, out=out)
            elapsed = time.perf_counter() - start
            if r >= 0:
                rates.append(flops * repeats / elapsed * 1e-9)
        rates.sort()
        print(f"{shape} {rates[len(rates) // 2]:.2f}", flush=True)


if __name__ == "__main__":
    main()
