"""Compiled gradient descent of a batch of runs on a dense operator, with the runs' axis last.

A batch of B runs is held "run-minor": entry e of run s of a quantity is at ``e * P + s``
of a flat array, P being B padded to a multiple of :data:`~matrix_sensing.operators.simd.LANES`
(the padded runs start at zero and stay there). One vector then holds one entry of that
many runs, and every kernel below is a sequence of vector multiply-adds whose accumulators
stay in registers (:mod:`~matrix_sensing.operators.simd`): each entry of A is loaded once
per vector of runs and broadcast, and no sum is ever split across the lanes of a vector.

The fused pass (:func:`fused_residual_adjoint_runs`) takes eight rows of A at a time: first
their products with every run (eight accumulators per lane block), then, while the rows
are in cache, their contribution ``sum_i r_i a_i`` to every run's ``G``. The small products
``U V^T``, ``G V``, ``G^T U`` and the update are the same multiply-adds, run by run in the
lanes. Sums run in a fixed order, so results are deterministic; each run's loss is summed
exactly as the single-run path sums it (:func:`~matrix_sensing.operators.kernels.gd_evaluate`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernels import gd_record, past_bounds, recorded_at
from .simd import LANES, add, fma, lane, load, mul, splat, store, sub, widen


def aligned_zeros(size: int, dtype) -> np.ndarray:
    """A zero array (size,) of ``dtype`` whose data starts on a 64-byte boundary: a vector
    load that straddles two cache lines costs two (see ``benchmarks/README.md``)."""
    itemsize = np.dtype(dtype).itemsize
    raw = np.zeros(size + 64 // itemsize, dtype=dtype)
    start = (-raw.ctypes.data % 64) // itemsize
    return raw[start : start + size]


def run_minor(runs: int) -> bool:
    """Whether a batch of ``runs`` runs goes through these kernels (vectors across the runs,
    padded to a multiple of :data:`~matrix_sensing.operators.simd.LANES`) rather than the
    4 x 4 tiles of :func:`~matrix_sensing.operators.kernels.fused_residual_adjoint_batch`
    (vectors along the columns of A): when the padding leaves at most three of eight lanes
    empty. Measured per batch size (``benchmarks/README.md``): with four runs the two tie,
    with nine to twelve the padding costs more than the run-minor form gains."""
    return runs >= 5 and runs % LANES in (0, 5, 6, 7)


@njit(cache=True, nogil=True, boundscheck=False)
def fused_residual_adjoint_runs(A, Xt, y, Rt, Gt, P):  # pragma: no cover - compiled
    """``A`` (m, n) C-contiguous; ``Xt`` (n P,) run-minor, ``y`` (m,); writes ``Rt``
    (m P,) = ``A x_s - y`` and ``Gt`` (n P,) = ``A^T r_s`` for the P runs (P a multiple of
    LANES). A is read once per LANES runs."""
    m, n = A.shape
    t = A.dtype
    zero = splat(t, 0.0)
    full, pairs = m - m % 8, n - n % 2
    for v in range(0, P, LANES):
        for c in range(n):
            store(Gt, c * P + v, zero)
        for i in range(0, full, 8):
            a0, a1, a2, a3 = A[i], A[i + 1], A[i + 2], A[i + 3]
            a4, a5, a6, a7 = A[i + 4], A[i + 5], A[i + 6], A[i + 7]
            # Two columns per trip, each with its own eight accumulators: sixteen chains
            # of multiply-adds cover the latency of the two FMA units.
            s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zero
            u0 = u1 = u2 = u3 = u4 = u5 = u6 = u7 = zero
            for c in range(0, pairs, 2):
                x, w = load(Xt, c * P + v), load(Xt, (c + 1) * P + v)
                s0 = fma(splat(t, a0[c]), x, s0)
                s1 = fma(splat(t, a1[c]), x, s1)
                s2 = fma(splat(t, a2[c]), x, s2)
                s3 = fma(splat(t, a3[c]), x, s3)
                s4 = fma(splat(t, a4[c]), x, s4)
                s5 = fma(splat(t, a5[c]), x, s5)
                s6 = fma(splat(t, a6[c]), x, s6)
                s7 = fma(splat(t, a7[c]), x, s7)
                u0 = fma(splat(t, a0[c + 1]), w, u0)
                u1 = fma(splat(t, a1[c + 1]), w, u1)
                u2 = fma(splat(t, a2[c + 1]), w, u2)
                u3 = fma(splat(t, a3[c + 1]), w, u3)
                u4 = fma(splat(t, a4[c + 1]), w, u4)
                u5 = fma(splat(t, a5[c + 1]), w, u5)
                u6 = fma(splat(t, a6[c + 1]), w, u6)
                u7 = fma(splat(t, a7[c + 1]), w, u7)
            if pairs < n:
                x = load(Xt, pairs * P + v)
                s0 = fma(splat(t, a0[pairs]), x, s0)
                s1 = fma(splat(t, a1[pairs]), x, s1)
                s2 = fma(splat(t, a2[pairs]), x, s2)
                s3 = fma(splat(t, a3[pairs]), x, s3)
                s4 = fma(splat(t, a4[pairs]), x, s4)
                s5 = fma(splat(t, a5[pairs]), x, s5)
                s6 = fma(splat(t, a6[pairs]), x, s6)
                s7 = fma(splat(t, a7[pairs]), x, s7)
            r0 = sub(add(s0, u0), splat(t, y[i]))
            r1 = sub(add(s1, u1), splat(t, y[i + 1]))
            r2 = sub(add(s2, u2), splat(t, y[i + 2]))
            r3 = sub(add(s3, u3), splat(t, y[i + 3]))
            r4 = sub(add(s4, u4), splat(t, y[i + 4]))
            r5 = sub(add(s5, u5), splat(t, y[i + 5]))
            r6 = sub(add(s6, u6), splat(t, y[i + 6]))
            r7 = sub(add(s7, u7), splat(t, y[i + 7]))
            store(Rt, i * P + v, r0)
            store(Rt, (i + 1) * P + v, r1)
            store(Rt, (i + 2) * P + v, r2)
            store(Rt, (i + 3) * P + v, r3)
            store(Rt, (i + 4) * P + v, r4)
            store(Rt, (i + 5) * P + v, r5)
            store(Rt, (i + 6) * P + v, r6)
            store(Rt, (i + 7) * P + v, r7)
            # G[c] += sum_i r_i a_i[c]: rows 0-3 onto G, rows 4-7 in a second chain.
            for c in range(n):
                g = load(Gt, c * P + v)
                h = mul(splat(t, a4[c]), r4)
                g = fma(splat(t, a0[c]), r0, g)
                h = fma(splat(t, a5[c]), r5, h)
                g = fma(splat(t, a1[c]), r1, g)
                h = fma(splat(t, a6[c]), r6, h)
                g = fma(splat(t, a2[c]), r2, g)
                h = fma(splat(t, a7[c]), r7, h)
                g = fma(splat(t, a3[c]), r3, g)
                store(Gt, c * P + v, add(g, h))
        for i in range(full, m):  # the m % 8 rows left, one at a time
            a0 = A[i]
            s0 = zero
            for c in range(n):
                s0 = fma(splat(t, a0[c]), load(Xt, c * P + v), s0)
            r0 = sub(s0, splat(t, y[i]))
            store(Rt, i * P + v, r0)
            for c in range(n):
                store(Gt, c * P + v, fma(splat(t, a0[c]), r0, load(Gt, c * P + v)))


@njit(cache=True, nogil=True, boundscheck=False)
def _products(L, lp, lr, M, mq, mr, C, n_p, n_q, n_r, P):  # pragma: no cover - compiled
    """``C[p, q] = sum_r L[p, r] M[q, r]`` in every lane, run-minor: entry (p, r) of L at
    ``(p lp + r lr) P``, (q, r) of M at ``(q mq + r mr) P``, (p, q) of C at ``(p n_q + q) P``.
    Tiles of 4 x 4 entries of C: sixteen chains, eight loads per sixteen multiply-adds (the
    last rows of a tile repeat the last row of C when n_p is not a multiple of four)."""
    t = C.dtype
    zero = splat(t, 0.0)
    for v in range(0, P, LANES):
        for p in range(0, n_p, 4):
            p1, p2, p3 = min(p + 1, n_p - 1), min(p + 2, n_p - 1), min(p + 3, n_p - 1)
            for q in range(0, n_q, 4):
                q1, q2, q3 = min(q + 1, n_q - 1), min(q + 2, n_q - 1), min(q + 3, n_q - 1)
                c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = zero
                c20 = c21 = c22 = c23 = c30 = c31 = c32 = c33 = zero
                for r in range(n_r):
                    m0 = load(M, (q * mq + r * mr) * P + v)
                    m1 = load(M, (q1 * mq + r * mr) * P + v)
                    m2 = load(M, (q2 * mq + r * mr) * P + v)
                    m3 = load(M, (q3 * mq + r * mr) * P + v)
                    l0 = load(L, (p * lp + r * lr) * P + v)
                    c00 = fma(l0, m0, c00)
                    c01 = fma(l0, m1, c01)
                    c02 = fma(l0, m2, c02)
                    c03 = fma(l0, m3, c03)
                    l1 = load(L, (p1 * lp + r * lr) * P + v)
                    c10 = fma(l1, m0, c10)
                    c11 = fma(l1, m1, c11)
                    c12 = fma(l1, m2, c12)
                    c13 = fma(l1, m3, c13)
                    l2 = load(L, (p2 * lp + r * lr) * P + v)
                    c20 = fma(l2, m0, c20)
                    c21 = fma(l2, m1, c21)
                    c22 = fma(l2, m2, c22)
                    c23 = fma(l2, m3, c23)
                    l3 = load(L, (p3 * lp + r * lr) * P + v)
                    c30 = fma(l3, m0, c30)
                    c31 = fma(l3, m1, c31)
                    c32 = fma(l3, m2, c32)
                    c33 = fma(l3, m3, c33)
                # A repeated row or column holds the same values as the one it repeats.
                for pp, row in (
                    (p3, (c30, c31, c32, c33)),
                    (p2, (c20, c21, c22, c23)),
                    (p1, (c10, c11, c12, c13)),
                    (p, (c00, c01, c02, c03)),
                ):
                    store(C, (pp * n_q + q3) * P + v, row[3])
                    store(C, (pp * n_q + q2) * P + v, row[2])
                    store(C, (pp * n_q + q1) * P + v, row[1])
                    store(C, (pp * n_q + q) * P + v, row[0])


@njit(cache=True, nogil=True, boundscheck=False)
def runs_evaluate(A, y, state, losses):  # pragma: no cover - compiled
    """At the runs' current point, with ``state = (Ut, Vt, Xt, Rt, Gt, grad_Ut, grad_Vt,
    steps, dims)`` (run-minor; ``dims = (n1, n2, k, P)``): ``X = U V^T``, ``R = A vec(X) -
    y``, ``G = A*(R)``, ``grad_U = G V``, ``grad_V = G^T U``, and ``losses[s] = ||R_s||^2 /
    2`` (float64) for the B = len(losses) runs."""
    Ut, Vt, Xt, Rt, Gt, grad_Ut, grad_Vt, _, dims = state
    n1, n2, k, P = dims[0], dims[1], dims[2], dims[3]
    _products(Ut, k, 1, Vt, k, 1, Xt, n1, n2, k, P)
    fused_residual_adjoint_runs(A, Xt, y, Rt, Gt, P)
    _products(Gt, n2, 1, Vt, 1, k, grad_Ut, n1, k, n2, P)
    _products(Gt, 1, n2, Ut, 1, k, grad_Vt, n2, k, n1, P)
    m = y.shape[0]
    for v in range(0, P, LANES):
        total = splat(np.float64, 0.0)
        for i in range(m):
            # Multiply, then add (no fused multiply-add): the single-run path's rounding.
            r = widen(load(Rt, i * P + v))
            total = add(total, mul(r, r))
        for s in range(min(LANES, losses.shape[0] - v)):
            losses[v + s] = 0.5 * lane(total, s)


@njit(cache=True, nogil=True, boundscheck=False)
def runs_advance(A, y, state, count, bounds, losses, history, unpacked):  # pragma: no cover
    """:func:`~matrix_sensing.operators.kernels.gd_advance` for a run-minor ``state`` (see
    :func:`runs_evaluate`): ``count`` steps ``U -= μ grad_U``, ``V -= μ grad_V`` (μ per run,
    ``steps`` (P,) in the state), stopping after a step to a loss not ``<= bounds``;
    ``history`` is recorded as there, from the runs copied into ``unpacked = (U, V, X)``
    ((B, n1, k), (B, n2, k), (B, n1, n2)). Returns the steps taken and columns written."""
    Ut, Vt, _, _, _, grad_Ut, grad_Vt, steps, dims = state
    P = dims[3]
    start, written = history[0][0], 0
    for t in range(count):
        for v in range(0, P, LANES):
            step = load(steps, v)
            # Multiply, then subtract: the same rounding as numpy's U - μ grad_U.
            for e in range(Ut.shape[0] // P):
                at = e * P + v
                store(Ut, at, sub(load(Ut, at), mul(step, load(grad_Ut, at))))
            for e in range(Vt.shape[0] // P):
                at = e * P + v
                store(Vt, at, sub(load(Vt, at), mul(step, load(grad_Vt, at))))
        runs_evaluate(A, y, state, losses)
        if recorded_at(history, t):
            runs_record(state, losses, history, written, start + t + 1, unpacked)
            written += 1
        if past_bounds(losses, bounds):
            return t + 1, written
    return count, written


@njit(cache=True, nogil=True, boundscheck=False)
def runs_record(state, losses, history, column, iteration, unpacked):  # pragma: no cover
    """:func:`~matrix_sensing.operators.kernels.gd_record` of a run-minor ``state``."""
    U, V, X = unpacked
    P = state[8][3]
    unpack(state[0], P, U)
    unpack(state[1], P, V)
    unpack(state[2], P, X)
    gd_record(U, V, X, losses, history, column, iteration)


@njit(cache=True, nogil=True, boundscheck=False)
def unpack(flat, P, out):  # pragma: no cover - compiled
    """``out[s] = `` run s of the run-minor ``flat`` (E P,), reshaped as ``out[s]``, for the
    ``len(out)`` first runs."""
    view = out.reshape(out.shape[0], -1)
    for s in range(view.shape[0]):
        for e in range(view.shape[1]):
            view[s, e] = flat[e * P + s]


@njit(cache=True, nogil=True, boundscheck=False)
def pack(runs, P, flat):  # pragma: no cover - compiled
    """The inverse of :func:`unpack`: ``flat[e P + s] = runs[s].flat[e]``, the padded runs
    (s >= len(runs)) zero."""
    view = runs.reshape(runs.shape[0], -1)
    flat[:] = 0
    for s in range(view.shape[0]):
        for e in range(view.shape[1]):
            flat[e * P + s] = view[s, e]
