"""Compiled kernels of the fused pass of a dense operator (numba).

``fused_residual_adjoint(A, x, y, r, G)`` writes ``r = A x - y`` and ``G = A^T r`` reading
the (m, n) array ``A`` once from memory; ``fused_residual_adjoint_batch`` does the same for
a stack of runs (see its docstring). For one run, rows go in groups of four: one loop over
the columns forms the group's four dot products (four streams from memory), a second adds
its contribution ``sum_j r_j a_j`` to ``G`` while the four rows are still in cache.

BLAS cannot express this: two BLAS calls per row block (the implementation before these
kernels) read each block twice, where this kernel reads it once. A software-pipelined
variant (the next group's dot products in the same loop as the current group's update) was
measured slower than this one and removed. Timings: ``benchmarks/README.md`` and
``book/performance.md``. ``fastmath`` lets LLVM vectorize the dot products (it reassociates
the sums), so results differ from BLAS, and a run in a batch from the same run alone, in
the last bits; they are deterministic on a given machine.
Compiled on first use and cached next to this file.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, fastmath=True, nogil=True, boundscheck=False)
def fused_residual_adjoint(A, x, y, r, G):  # pragma: no cover - compiled
    """``A`` (m, n) C-contiguous; ``x`` (n,), ``y`` (m,); writes ``r`` (m,) and ``G`` (n,)."""
    m, n = A.shape
    zero = A.dtype.type(0)
    for c in range(n):
        G[c] = zero
    full = m - m % 4
    for i in range(0, full, 4):
        a0, a1, a2, a3 = A[i], A[i + 1], A[i + 2], A[i + 3]
        s0 = s1 = s2 = s3 = zero
        for c in range(n):
            xc = x[c]
            s0 += a0[c] * xc
            s1 += a1[c] * xc
            s2 += a2[c] * xc
            s3 += a3[c] * xc
        q0, q1, q2, q3 = s0 - y[i], s1 - y[i + 1], s2 - y[i + 2], s3 - y[i + 3]
        r[i], r[i + 1], r[i + 2], r[i + 3] = q0, q1, q2, q3
        for c in range(n):
            G[c] += q0 * a0[c] + q1 * a1[c] + q2 * a2[c] + q3 * a3[c]
    for i in range(full, m):  # the m % 4 rows left
        a0 = A[i]
        s0 = zero
        for c in range(n):
            s0 += a0[c] * x[c]
        q0 = s0 - y[i]
        r[i] = q0
        for c in range(n):
            G[c] += q0 * a0[c]


@njit(cache=True, fastmath=True, nogil=True, boundscheck=False)
def _dots_4x4(a0, a1, a2, a3, x0, x1, x2, x3, R, i, b):  # pragma: no cover - compiled
    """``R[b + s, i + t] += <a_t, x_s>`` for four rows a_t and four runs x_s (a 4x4 tile:
    16 accumulators in registers, 8 loads per 16 multiply-adds)."""
    zero = a0.dtype.type(0)
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = zero
    for c in range(a0.shape[0]):
        e0, e1, e2, e3 = a0[c], a1[c], a2[c], a3[c]
        z0, z1, z2, z3 = x0[c], x1[c], x2[c], x3[c]
        s00 += e0 * z0
        s01 += e0 * z1
        s02 += e0 * z2
        s03 += e0 * z3
        s10 += e1 * z0
        s11 += e1 * z1
        s12 += e1 * z2
        s13 += e1 * z3
        s20 += e2 * z0
        s21 += e2 * z1
        s22 += e2 * z2
        s23 += e2 * z3
        s30 += e3 * z0
        s31 += e3 * z1
        s32 += e3 * z2
        s33 += e3 * z3
    R[b, i] += s00
    R[b + 1, i] += s01
    R[b + 2, i] += s02
    R[b + 3, i] += s03
    R[b, i + 1] += s10
    R[b + 1, i + 1] += s11
    R[b + 2, i + 1] += s12
    R[b + 3, i + 1] += s13
    R[b, i + 2] += s20
    R[b + 1, i + 2] += s21
    R[b + 2, i + 2] += s22
    R[b + 3, i + 2] += s23
    R[b, i + 3] += s30
    R[b + 1, i + 3] += s31
    R[b + 2, i + 3] += s32
    R[b + 3, i + 3] += s33


@njit(cache=True, fastmath=True, nogil=True, boundscheck=False)
def _axpys_4x4(a0, a1, a2, a3, g0, g1, g2, g3, R, i, b):  # pragma: no cover - compiled
    """``g_s += sum_t R[b + s, i + t] a_t`` for four rows a_t and four runs g_s."""
    q00, q10, q20, q30 = R[b, i], R[b, i + 1], R[b, i + 2], R[b, i + 3]
    q01, q11, q21, q31 = R[b + 1, i], R[b + 1, i + 1], R[b + 1, i + 2], R[b + 1, i + 3]
    q02, q12, q22, q32 = R[b + 2, i], R[b + 2, i + 1], R[b + 2, i + 2], R[b + 2, i + 3]
    q03, q13, q23, q33 = R[b + 3, i], R[b + 3, i + 1], R[b + 3, i + 2], R[b + 3, i + 3]
    for c in range(a0.shape[0]):
        e0, e1, e2, e3 = a0[c], a1[c], a2[c], a3[c]
        g0[c] += q00 * e0 + q10 * e1 + q20 * e2 + q30 * e3
        g1[c] += q01 * e0 + q11 * e1 + q21 * e2 + q31 * e3
        g2[c] += q02 * e0 + q12 * e1 + q22 * e2 + q32 * e3
        g3[c] += q03 * e0 + q13 * e1 + q23 * e2 + q33 * e3


@njit(cache=True, fastmath=True, nogil=True, boundscheck=False)
def fused_residual_adjoint_batch(A, X, y, R, G):  # pragma: no cover - compiled
    """``A`` (m, n) C-contiguous; ``X`` (B, n) with B a multiple of 4, ``y`` (m,); writes
    ``R = X A^T - y`` (B, m) and ``G = R A`` (B, n).

    Four rows of A at a time: first their dot products with every run (4x4 tiles), then,
    while the four rows are still in the L2 cache, their contribution to every run's ``G``.
    A is read once from memory for the whole batch. Unlike BLAS (whose matrix products pack
    the big operand, and whose kernels may be built for a narrower vector width than the
    CPU's), the tiles are compiled for the full vector width of the machine they run on.
    """
    B = X.shape[0]
    m, n = A.shape
    zero = A.dtype.type(0)
    for s in range(B):
        for c in range(n):
            G[s, c] = zero
        for i in range(m):
            R[s, i] = -y[i]
    full = m - m % 4
    for i in range(0, full, 4):
        a0, a1, a2, a3 = A[i], A[i + 1], A[i + 2], A[i + 3]
        for b in range(0, B, 4):
            _dots_4x4(a0, a1, a2, a3, X[b], X[b + 1], X[b + 2], X[b + 3], R, i, b)
        for b in range(0, B, 4):
            _axpys_4x4(a0, a1, a2, a3, G[b], G[b + 1], G[b + 2], G[b + 3], R, i, b)
    for i in range(full, m):  # the m % 4 rows left
        a0 = A[i]
        for s in range(B):
            x, g = X[s], G[s]
            t = zero
            for c in range(n):
                t += a0[c] * x[c]
            q = R[s, i] + t
            R[s, i] = q
            for c in range(n):
                g[c] += q * a0[c]


# Gradient descent on a dense operator with every iteration in compiled code: at small sizes
# the Python around the fused pass (the small matrix products, the loss, the update, the
# divergence check) costs a large fraction of a pass per iteration (see
# ``book/performance.md``).


@njit(cache=True, nogil=True, boundscheck=False)
def gd_evaluate(  # pragma: no cover - compiled
    A, y, U, V, X, R, G, grad_U, grad_V, losses, one_by_one
):
    """At the B runs ``U`` (B, n1, k), ``V`` (B, n2, k): writes ``X[b] = U_b V_b^T``,
    ``R[b] = A vec(X[b]) - y`` (m,), ``G[b] = A*(R[b])`` (n1, n2), ``grad_U[b] = G[b] V_b``,
    ``grad_V[b] = G[b]^T U_b`` and ``losses[b] = ||R[b]||^2 / 2`` (float64, summed without
    fastmath so that non-finite values show). ``X``, ``R``, ``G`` have P >= B rows. With
    ``one_by_one`` (P = B) each run goes through the single-run kernel, else all through the
    batch kernel (P a multiple of 4, ``X[B:]`` zero). The small products go to BLAS
    (numba's, through SciPy): 9 us at the CI size against 22 us for compiled loops."""
    B = U.shape[0]
    P, n1, n2 = X.shape
    for b in range(B):
        np.dot(U[b], V[b].T, out=X[b])
    if one_by_one:
        for b in range(B):
            fused_residual_adjoint(A, X[b].reshape(-1), y, R[b], G[b].reshape(-1))
    else:
        fused_residual_adjoint_batch(A, X.reshape(P, n1 * n2), y, R, G.reshape(P, n1 * n2))
    for b in range(B):
        np.dot(G[b], V[b], out=grad_U[b])
        np.dot(G[b].T, U[b], out=grad_V[b])
        loss = 0.0
        for i in range(R.shape[1]):
            loss += float(R[b, i]) * float(R[b, i])
        losses[b] = 0.5 * loss


@njit(cache=True, nogil=True, boundscheck=False)
def gd_advance(  # pragma: no cover - compiled
    A, y, U, V, steps, count, bounds, X, R, G, grad_U, grad_V, losses, one_by_one
):
    """``count`` steps ``U_b -= μ_b grad_U[b]``, ``V_b -= μ_b grad_V[b]`` (simultaneous, from
    the gradients of the current point held in ``grad_U``, ``grad_V``), each followed by
    :func:`gd_evaluate` at the new point. Stops early after the step at which a run's loss
    is not ``<= bounds[b]`` (non-finite included). Returns the number of steps taken."""
    for t in range(count):
        for b in range(U.shape[0]):
            step = steps[b]
            # Not fused into one multiply-add: the same rounding as numpy's U - μ grad_U.
            for i in range(U.shape[1]):
                for c in range(U.shape[2]):
                    U[b, i, c] = U[b, i, c] - step * grad_U[b, i, c]
            for j in range(V.shape[1]):
                for c in range(V.shape[2]):
                    V[b, j, c] = V[b, j, c] - step * grad_V[b, j, c]
        gd_evaluate(A, y, U, V, X, R, G, grad_U, grad_V, losses, one_by_one)
        for b in range(U.shape[0]):
            if not losses[b] <= bounds[b] or math.isinf(losses[b]):
                return t + 1
    return count
