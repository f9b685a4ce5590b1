"""Recover a rank-r matrix of size n x n (default: rank 5, n = 2000) by factorized gradient
descent from a small random initialization, with a factored operator that never forms an
n x n matrix: matrix completion (default) or rank-one Gaussian measurements.

    .venv/bin/python examples/large_completion.py
    .venv/bin/python examples/large_completion.py --operator rank-one --dtype float32 --width 5 \
        --iters 200 --record-every 20

What each run costs (time, memory, final error) is in README.md, beside the command.

The truth is kept as a factor pair (L, R), X = L R^T with singular values linearly spaced
from 1 to 1/kappa, and the test error ||U V^T - X||_F / ||X||_F is computed from factors.
Prints the test error along the run, the wall time, the operator's memory and the peak
resident memory of the process. Neither operator is the Gaussian ensemble the paper analyses:
this demonstrates the solver at scale, not a claim of the paper.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from matrix_sensing import factorized_gd, small_random_init
from matrix_sensing.operators import EntrySampling, RankOneSensing
from matrix_sensing.targets import linear_spectrum


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operator", choices=["completion", "rank-one"], default="completion")
    parser.add_argument("--n", type=int, default=2000, help="n1 = n2 (default 2000)")
    parser.add_argument("--rank", type=int, default=5, help="rank r of the truth (default 5)")
    parser.add_argument("--kappa", type=float, default=2.0, help="condition number (default 2)")
    parser.add_argument("--width", type=int, default=10, help="width k >= r (default 10)")
    parser.add_argument(
        "--fraction", type=float, default=0.05, help="completion: observed fraction p"
    )
    parser.add_argument(
        "--oversampling",
        type=float,
        default=3.0,
        help="rank-one: m = oversampling * r (2n - r) measurements (default 3)",
    )
    parser.add_argument("--alpha", type=float, default=1e-6, help="initialization scale α")
    parser.add_argument("--step", type=float, default=0.5, help="step size μ (default 0.5)")
    parser.add_argument("--iters", type=int, default=300, help="iterations T (default 300)")
    parser.add_argument("--record-every", type=int, default=25)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def factor_truth(n: int, r: int, kappa: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(L, R)`` with orthonormal columns scaled by the spectrum: X = L R^T, ||X|| = 1."""
    rng = np.random.default_rng(seed)
    left = np.linalg.qr(rng.standard_normal((n, r)))[0]
    right = np.linalg.qr(rng.standard_normal((n, r)))[0]
    return left * linear_spectrum(r, kappa), right


def main(argv=None) -> None:
    args = parse_args(argv)
    n, r, dtype = args.n, args.rank, np.dtype(args.dtype)
    start = time.perf_counter()
    L, R = factor_truth(n, r, args.kappa, seed=args.seed)
    if args.operator == "completion":
        op = EntrySampling((n, n), fraction=args.fraction, seed=args.seed + 1)
    else:
        m = round(args.oversampling * r * (2 * n - r))
        op = RankOneSensing(m, (n, n), seed=args.seed + 1, dtype=dtype)
    y = op.measure(L, R)
    U0, V0 = small_random_init(n, n, args.width, args.alpha, seed=args.seed + 2)
    setup = time.perf_counter() - start
    print(
        f"{op!r}: {op.nbytes / 2**20:.0f} MiB (a dense operator would need "
        f"{8 * op.m * n * n / 2**30:.3g} GiB); rank {r}, width {args.width}, "
        f"alpha {args.alpha:g}, step {args.step:g}, {args.dtype}; setup {setup:.1f} s"
    )

    start = time.perf_counter()
    result = factorized_gd(
        op,
        y,
        U0,
        V0,
        args.step,
        args.iters,
        truth=(L, R),
        record_every=args.record_every,
        progress=True,
        dtype=dtype,
    )
    elapsed = time.perf_counter() - start

    history = result.history
    for t, error, loss in zip(
        history["iteration"], history["test_error"], history["train_loss"], strict=True
    ):
        print(f"  iteration {t:5d}  test error {error:.3e}  train loss {loss:.3e}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # kB on Linux
    print(
        f"final relative test error {history['test_error'][-1]:.3e} after {args.iters} "
        f"iterations in {elapsed:.1f} s ({1e3 * elapsed / max(args.iters, 1):.1f} ms/iteration); "
        f"peak RSS {peak:.0f} MiB"
    )


if __name__ == "__main__":
    main()
