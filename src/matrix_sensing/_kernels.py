"""Compiled kernel of the fused pass of a dense operator (numba).

``fused_residual_adjoint(A, x, y, r, G)`` writes ``r = A x - y`` and ``G = A^T r`` reading
the (m, n) array ``A`` once from memory. Rows go in groups of four, software-pipelined: one
loop over the columns forms the four dot products of the next group (rows streamed from
memory) and adds the current group's contribution ``sum_j r_j a_j`` to ``G`` (rows still in
cache), so the second use of every row is a cache hit that overlaps the stream.

BLAS cannot express this: two BLAS calls per row block (the previous implementation, kept
as the fallback in :mod:`.operators`) read each block twice and cost ~1.6 passes over a
320 MB array; this kernel ~1.1 (``benchmarks/``). ``fastmath`` lets LLVM vectorize the dot
products (it reassociates the sums), so results differ from BLAS in the last bits; they
are deterministic on a given machine. Compiled on first use and cached next to this file.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, fastmath=True, nogil=True, boundscheck=False)
def fused_residual_adjoint(A, x, y, r, G):  # pragma: no cover - compiled
    """``A`` (m, n) C-contiguous; ``x`` (n,), ``y`` (m,); writes ``r`` (m,) and ``G`` (n,)."""
    m, n = A.shape
    zero = A.dtype.type(0)
    for c in range(n):
        G[c] = zero
    full = m - m % 4
    # The prologue repeats the loop's dot products on purpose: folding it into the loop
    # (zero weights for a group -1) measured ~10% slower at n1 = n2 = 100, m = 4000.
    if full > 0:  # prologue: the dot products of the first group
        a0, a1, a2, a3 = A[0], A[1], A[2], A[3]
        s0 = s1 = s2 = s3 = zero
        for c in range(n):
            xc = x[c]
            s0 += a0[c] * xc
            s1 += a1[c] * xc
            s2 += a2[c] * xc
            s3 += a3[c] * xc
        r[0], r[1], r[2], r[3] = s0 - y[0], s1 - y[1], s2 - y[2], s3 - y[3]
    for i in range(4, full, 4):
        p0, p1, p2, p3 = A[i - 4], A[i - 3], A[i - 2], A[i - 1]
        q0, q1, q2, q3 = r[i - 4], r[i - 3], r[i - 2], r[i - 1]
        a0, a1, a2, a3 = A[i], A[i + 1], A[i + 2], A[i + 3]
        s0 = s1 = s2 = s3 = zero
        for c in range(n):
            xc = x[c]
            s0 += a0[c] * xc
            s1 += a1[c] * xc
            s2 += a2[c] * xc
            s3 += a3[c] * xc
            G[c] += q0 * p0[c] + q1 * p1[c] + q2 * p2[c] + q3 * p3[c]
        r[i], r[i + 1] = s0 - y[i], s1 - y[i + 1]
        r[i + 2], r[i + 3] = s2 - y[i + 2], s3 - y[i + 3]
    if full > 0:  # epilogue: the last group's contribution
        p0, p1, p2, p3 = A[full - 4], A[full - 3], A[full - 2], A[full - 1]
        q0, q1, q2, q3 = r[full - 4], r[full - 3], r[full - 2], r[full - 1]
        for c in range(n):
            G[c] += q0 * p0[c] + q1 * p1[c] + q2 * p2[c] + q3 * p3[c]
    for i in range(full, m):  # the m % 4 rows left
        a0 = A[i]
        s0 = zero
        for c in range(n):
            s0 += a0[c] * x[c]
        q0 = s0 - y[i]
        r[i] = q0
        for c in range(n):
            G[c] += q0 * a0[c]
