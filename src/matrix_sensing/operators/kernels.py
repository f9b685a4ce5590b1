"""Compiled kernels of the fused pass of a dense operator (numba), and the recorded history.

``fused_residual_adjoint(A, x, y, r, G)`` writes ``r = A x - y`` and ``G = A^T r`` reading
the (m, n) array ``A`` once from memory; ``fused_residual_adjoint_batch`` does the same for
a small stack of runs (see its docstring; other batches are held run-minor, with kernels of
their own in :mod:`~matrix_sensing.operators.batch`). For one run, rows go in groups of
four: one loop over the columns forms the group's four dot products (four streams from
memory), a second adds its contribution ``sum_j r_j a_j`` to ``G`` while the four rows are
still in cache.

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

from .simd import LANES, add, div, fma, guard, lane, load, negatives, splat, store, sub


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
    A, y, U, V, steps, count, bounds, X, R, G, grad_U, grad_V, losses, one_by_one, history
):
    """``count`` steps ``U_b -= μ_b grad_U[b]``, ``V_b -= μ_b grad_V[b]`` (simultaneous, from
    the gradients of the current point held in ``grad_U``, ``grad_V``), each followed by
    :func:`gd_evaluate` at the new point. Stops early after the step at which a run's loss
    is not ``<= bounds[b]`` (non-finite included). ``history`` is a :class:`History`'s
    arrays (see :func:`gd_record`): with ``every > 0`` every step whose iteration
    ``start + t`` is a multiple of ``every`` is recorded into its next column. Returns the
    number of steps taken and the number of columns written."""
    start, written = history[0][0], 0
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
        if recorded_at(history, t):
            gd_record(U, V, X, losses, history, written, start + t + 1)
            written += 1
        if past_bounds(losses, bounds):
            return t + 1, written
    return count, written


@njit(cache=True, nogil=True, boundscheck=False)
def recorded_at(history, t):  # pragma: no cover - compiled
    """Whether step ``t`` of an advance (to iteration ``start + t + 1``) is recorded."""
    start, every = history[0][0], history[0][1]
    return every > 0 and (start + t + 1) % every == 0


@njit(cache=True, nogil=True, boundscheck=False)
def past_bounds(losses, bounds):  # pragma: no cover - compiled
    """Whether a run's loss is not ``<= bounds[b]`` (non-finite included): a stop."""
    for b in range(losses.shape[0]):
        if not losses[b] <= bounds[b] or math.isinf(losses[b]):
            return True
    return False


# The standard history recorded inside the compiled loop: the loss, the imbalance
# ||U^T U - V^T V||_2 and the test error. Returning to Python at every recorded iteration
# (and numpy's SVD for the imbalance) cost more than the iteration itself at the CI size;
# LAPACK's symmetric eigensolvers are slower than the two routines below at these k.


@njit(cache=True, nogil=True, boundscheck=False)
def gd_record(U, V, X, losses, history, column, iteration):  # pragma: no cover - compiled
    """Writes column ``column`` of ``history`` for the B runs at the current point.

    ``history = (settings, truth, iterations, loss, imbalance, test_error, work)``:
    ``settings`` int64 (start, every, with imbalance?) as :func:`gd_advance` reads them;
    ``truth`` (n1, n2) float64, or (0, 0) for no test error; ``iterations`` (C,) int64;
    ``loss``, ``imbalance``, ``test_error`` (B, C) float64; ``work`` (6, K) float64, K = k
    rounded up to a multiple of ``simd.LANES``,
    with ``work[0, 0] = ||truth||_F``. Writes ``iterations[column] = iteration``,
    ``loss[b, column] = losses[b]``, ``imbalance[b, column] = ||U_b^T U_b - V_b^T V_b||_2``
    and ``test_error[b, column] = ||X_b - truth||_F / ||truth||_F`` (``X_b = U_b V_b^T``, as
    :func:`gd_evaluate` left it)."""
    settings, truth, iterations, loss, imbalance, test_error, work = history
    iterations[column] = iteration
    k = U.shape[2]
    gram = np.empty((k, k))  # contiguous, or the loops over its rows would not vectorize
    for b in range(U.shape[0]):
        loss[b, column] = losses[b]
        if settings[2]:
            # The two Gram matrices through BLAS, as numpy forms them.
            gram_U, gram_V = np.dot(U[b].T, U[b]), np.dot(V[b].T, V[b])
            for a in range(k):
                for c in range(k):
                    gram[a, c] = float(gram_U[a, c]) - float(gram_V[a, c])
            imbalance[b, column] = symmetric_norm(gram, work[1:])
        if truth.size:
            Xb = X[b]
            total = 0.0
            for i in range(truth.shape[0]):
                for j in range(truth.shape[1]):
                    d = float(Xb[i, j]) - truth[i, j]
                    total += d * d
            test_error[b, column] = math.sqrt(total) / work[0, 0]


@njit(cache=True, nogil=True, boundscheck=False)
def _tridiagonal(D, d, e, v, p):  # pragma: no cover - compiled
    """Householder reduction of the symmetric ``D`` (k, k), k a multiple of ``simd.LANES``
    (overwritten), to the tridiagonal matrix with diagonal ``d`` (k,) and off-diagonal
    ``e[:k-1]``; ``v``, ``p`` (k,) are work. The trailing block in explicit vectors, from the
    vector that holds the pivot's column (``v`` is zero before the pivot): ``p = D v`` is
    summed as rows of the block scaled by ``v`` (the block is symmetric), so no sum is split
    across lanes. Entries outside the block are left stale; they are read again only
    multiplied by the zeros of ``v``."""
    k = D.shape[0]
    flat = D.reshape(-1)
    for i in range(k):
        v[i] = 0.0
    zero = splat(D.dtype, 0.0)
    for j in range(k - 2):
        s = 0.0
        for i in range(j + 2, k):
            s += D[i, j] * D[i, j]
        x0 = D[j + 1, j]
        d[j] = D[j, j]
        if s == 0.0:  # already tridiagonal in this column
            e[j] = x0
            continue
        norm_x = math.sqrt(s + x0 * x0)
        alpha = -norm_x if x0 >= 0 else norm_x
        v0 = x0 - alpha
        v[j] = 0.0
        v[j + 1] = v0
        for i in range(j + 2, k):
            v[i] = D[i, j]
        tau = 2.0 / (s + v0 * v0)
        start = (j + 1) - (j + 1) % LANES  # the vector that holds the pivot's column
        for b in range(start, k, LANES):
            store(p, b, zero)
        for c in range(j + 1, k):
            scale = splat(D.dtype, tau * v[c])
            for b in range(start, k, LANES):
                store(p, b, fma(scale, load(flat, c * k + b), load(p, b)))
        K = 0.0
        for i in range(j + 1, k):
            K += p[i] * v[i]
        K *= 0.5 * tau
        for i in range(j + 1, k):
            p[i] -= K * v[i]
        for i in range(j + 1, k):
            minus_v, minus_p = splat(D.dtype, -v[i]), splat(D.dtype, -p[i])
            for b in range(start, k, LANES):
                row = fma(minus_v, load(p, b), load(flat, i * k + b))
                store(flat, i * k + b, fma(minus_p, load(v, b), row))
        e[j] = alpha
    if k >= 2:
        d[k - 2] = D[k - 2, k - 2]
        e[k - 2] = D[k - 1, k - 2]
    d[k - 1] = D[k - 1, k - 1]


@njit(cache=True, nogil=True, boundscheck=False)
def _counts(d, e2, x0, x1, x2, x3, x4, x5, x6, x7, pivmin):  # pragma: no cover - compiled
    """For eight shifts x_s: the number of eigenvalues below x_s of the tridiagonal matrix
    with diagonal ``d`` and squared off-diagonal ``e2`` (Sturm sequence). The eight shifts
    are the lanes of one vector: one chain of vector divisions instead of eight of scalar
    ones, whose throughput, not their latency, limited the sweep."""
    shifts = np.empty(LANES)
    shifts[0], shifts[1], shifts[2], shifts[3] = x0, x1, x2, x3
    shifts[4], shifts[5], shifts[6], shifts[7] = x4, x5, x6, x7
    x, floor = load(shifts, 0), splat(d.dtype, pivmin)
    q, count = splat(d.dtype, 1.0), splat(d.dtype, 0.0)
    for i in range(d.shape[0]):
        f = e2[i - 1] if i > 0 else 0.0
        q = guard(sub(sub(splat(d.dtype, d[i]), x), div(splat(d.dtype, f), q)), floor)
        count = add(count, negatives(q))
    return (
        int(lane(count, 0)),
        int(lane(count, 1)),
        int(lane(count, 2)),
        int(lane(count, 3)),
        int(lane(count, 4)),
        int(lane(count, 5)),
        int(lane(count, 6)),
        int(lane(count, 7)),
    )


@njit(cache=True, nogil=True, boundscheck=False)
def _magnitudes(lo, hi):  # pragma: no cover - compiled
    """The least and the largest |x| for x in [lo, hi]."""
    if lo <= 0.0 <= hi:
        return 0.0, max(-lo, hi)
    return min(abs(lo), abs(hi)), max(abs(lo), abs(hi))


@njit(cache=True, nogil=True, boundscheck=False)
def _narrow(lo, hi, shifts, counts, k, largest):  # pragma: no cover - compiled
    """The bracket [lo, hi] of the largest (else the smallest) eigenvalue narrowed by the
    counts of eigenvalues below each of the increasing ``shifts`` inside it."""
    if largest:  # above the last shift that has an eigenvalue above it
        for j in range(len(shifts)):
            if counts[j] < k:
                lo = shifts[j]
            else:
                return lo, shifts[j]
        return lo, hi
    for j in range(len(shifts)):  # below the first shift that has an eigenvalue below it
        if counts[j] >= 1:
            return lo, shifts[j]
        lo = shifts[j]
    return lo, hi


@njit(cache=True, nogil=True, boundscheck=False)
def _largest_magnitude(d, e, e2):  # pragma: no cover - compiled
    """The largest |eigenvalue| of the symmetric tridiagonal matrix (diagonal ``d`` (k,),
    off-diagonal ``e[:k-1]``) to the last bits of its scale, by multisection from
    Gershgorin's disks: each Sturm sweep splits the brackets of the smallest and the largest
    eigenvalue in five, and once one of them is known to be the larger in magnitude, its
    bracket alone in nine."""
    k = d.shape[0]
    lo, hi = d[0], d[0]
    for i in range(k):
        r = (abs(e[i - 1]) if i > 0 else 0.0) + (abs(e[i]) if i < k - 1 else 0.0)
        lo, hi = min(lo, d[i] - r), max(hi, d[i] + r)
        e2[i] = e[i] * e[i] if i < k - 1 else 0.0
    scale = max(abs(lo), abs(hi))
    if not scale > 0.0 or math.isinf(scale):  # zero, or not finite (a run blowing up)
        return scale
    pivmin = 1e-290 * max(1.0, scale * scale)
    tol = 2.2e-16 * scale
    alo, ahi, blo, bhi = lo, hi, lo, hi  # brackets of the smallest (a) and the largest (b)
    while ahi - alo > tol or bhi - blo > tol:
        a_least, a_most = _magnitudes(alo, ahi)
        b_least, b_most = _magnitudes(blo, bhi)
        if a_most < b_least or b_most < a_least:
            break
        wa, wb = (ahi - alo) / 5, (bhi - blo) / 5
        a = (alo + wa, alo + 2 * wa, alo + 3 * wa, alo + 4 * wa)
        b = (blo + wb, blo + 2 * wb, blo + 3 * wb, blo + 4 * wb)
        c = _counts(d, e2, a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], pivmin)
        nalo, nahi = _narrow(alo, ahi, a, c[:4], k, False)
        nblo, nbhi = _narrow(blo, bhi, b, c[4:], k, True)
        if nalo == alo and nahi == ahi and nblo == blo and nbhi == bhi:
            break  # the brackets cannot shrink further in floating point
        alo, ahi, blo, bhi = nalo, nahi, nblo, nbhi
    largest = _magnitudes(blo, bhi)[1] >= _magnitudes(alo, ahi)[1]
    lo, hi = (blo, bhi) if largest else (alo, ahi)
    while hi - lo > tol:
        w = (hi - lo) / 9
        x = (
            lo + w,
            lo + 2 * w,
            lo + 3 * w,
            lo + 4 * w,
            lo + 5 * w,
            lo + 6 * w,
            lo + 7 * w,
            lo + 8 * w,
        )
        c = _counts(d, e2, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], pivmin)
        nlo, nhi = _narrow(lo, hi, x, c, k, largest)
        if nlo == lo and nhi == hi:
            break
        lo, hi = nlo, nhi
    if ahi - alo <= tol and bhi - blo <= tol:  # both converged before either dominated
        return max(abs(0.5 * (alo + ahi)), abs(0.5 * (blo + bhi)))
    return abs(0.5 * (lo + hi))


@njit(cache=True, nogil=True, boundscheck=False)
def symmetric_norm(D, work):  # pragma: no cover - compiled
    """``||D||_2`` of the symmetric ``D`` (k, k) float64; ``work`` (>= 5, K), K = k rounded
    up to a multiple of ``simd.LANES``. Scaled to a largest entry of 1 first, so that no
    square underflows or overflows, and padded with zero rows and columns (whose eigenvalues
    are zero) to whole vectors for :func:`_tridiagonal`."""
    k = D.shape[0]
    largest, total = 0.0, 0.0
    for i in range(k):
        for c in range(k):
            largest = max(largest, abs(D[i, c]))
            total += abs(D[i, c])
    if not math.isfinite(total):  # a run blowing up: no norm to compute
        return total
    if largest == 0.0 or k == 1:
        return largest
    padded = -(-k // LANES) * LANES
    scaled = np.zeros((padded, padded))
    for i in range(k):
        for c in range(k):
            scaled[i, c] = D[i, c] / largest
    _tridiagonal(scaled, work[0], work[1], work[2], work[3])
    return largest * _largest_magnitude(work[0], work[1], work[4])
