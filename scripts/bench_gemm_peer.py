"""Peer timings for bench/gemm.ts: numpy's float32 matmul (OpenBLAS via Debian's libblas) on the same
shapes, median of several runs, printed as one JSON object per line: wall-clock GFLOP/s and GFLOP
per CPU-second of the process (the latter is robust to other load on a shared machine).

Usage: /usr/bin/python3 scripts/bench_gemm_peer.py '[[M, N, K, transB, reps], ...]'
The first line describes the BLAS in use ({"blas": ..., "corename": ..., "threads": ...}); the caller
sets OPENBLAS_NUM_THREADS / OMP_NUM_THREADS for the thread count.
"""

import ctypes
import json
import sys
import time

import numpy as np


def blas_info():
    """Which BLAS numpy calls, and the OpenBLAS kernel family it picked (corename)."""
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            if info.get("user_api") == "blas":
                return {"blas": info.get("filepath"), "corename": info.get("architecture"), "threads": info.get("num_threads")}
    except ImportError:
        pass
    np.ones((2, 2), np.float32) @ np.ones((2, 2), np.float32)  # make sure the BLAS is loaded
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "blas" in line and line.split()[-1].startswith("/")})
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return {"blas": path, "corename": lib.openblas_get_corename().decode(), "threads": lib.openblas_get_num_threads()}
        except (OSError, AttributeError):
            continue
    return {"blas": libs[0] if libs else "unknown", "corename": None, "threads": None}


def main():
    shapes = json.loads(sys.argv[1])
    print(json.dumps(blas_info()), flush=True)
    rng = np.random.default_rng(0)
    for m, n, k, trans_b, reps in shapes:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((n, k) if trans_b else (k, n), dtype=np.float32)
        c = np.empty((m, n), np.float32)
        bb = b.T if trans_b else b
        np.matmul(a, bb, out=c)  # warm-up
        times, cpu = [], []
        for _ in range(reps):
            t, p = time.perf_counter(), time.process_time()
            np.matmul(a, bb, out=c)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - p)
        flops = 2.0 * m * n * k
        med, cpu_med = sorted(times)[len(times) // 2], sorted(cpu)[len(cpu) // 2]
        print(
            json.dumps(
                {"M": m, "N": n, "K": k, "transB": bool(trans_b), "gflops": flops / med / 1e9, "cpuGflops": flops / max(cpu_med, 1e-9) / 1e9}
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
