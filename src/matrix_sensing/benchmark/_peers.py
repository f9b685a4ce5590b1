"""The package's solver and its peers on the same data, and the check that they agree.

A peer is the same gradient descent written another way: the natural numpy loop, an einsum
over the (m, n1, n2) tensor, PyTorch autograd on CPU and the whole loop compiled by JAX (XLA)
on CPU (torch and jax when importable; neither is a requirement, and each is imported only
when asked for).
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings

import numpy as np

from ..solvers import factorized_gd
from ._workloads import Workload

#: Relative agreement required between the package's iterates and each peer's (float64).
RTOL = 1e-10
#: The same for float32 peers (their rounding differs in the order of the sums).
RTOL32 = 1e-4


def package_gd(op, y, U0, V0, step, iters, dtype="float64"):
    """The package's solver (:func:`~matrix_sensing.factorized_gd`, recording only the last
    iteration) from ``U0`` (n1, k) and ``V0`` (n2, k), or stacks (B, n1, k) and (B, n2, k);
    returns the last iterates as stacks of shapes (B, n1, k) and (B, n2, k), B = 1 for one
    run."""
    out = factorized_gd(op, y, U0, V0, step, iters, record_every=max(1, iters), dtype=dtype)
    out = out if isinstance(out, list) else [out]
    return np.stack([r.U for r in out]), np.stack([r.V for r in out])


def plain_gd(A, y, U, V, step, iters):
    """The natural numpy loop: forward ``A @ vec(U V^T)``, then adjoint ``A.T @ r``, with
    ``A`` of shape (m, n1·n2), ``y`` (m,), ``U`` (n1, k), ``V`` (n2, k); returns the last
    ``U``, ``V``."""
    n1, n2 = U.shape[0], V.shape[0]
    for _ in range(iters):
        r = A @ (U @ V.T).reshape(-1) - y
        E = (A.T @ r).reshape(n1, n2)
        U, V = U - step * (E @ V), V - step * (E.T @ U)
    return U, V


def einsum_gd(A3, y, U, V, step, iters):
    """The style of public numpy code for this problem: einsum over the tensor ``A3`` of
    shape (m, n1, n2); ``y``, ``U``, ``V`` and the result as in :func:`plain_gd`."""
    for _ in range(iters):
        r = np.einsum("mij,ij->m", A3, U @ V.T) - y
        E = np.einsum("m,mij->ij", r, A3)
        U, V = U - step * (E @ V), V - step * (E.T @ U)
    return U, V


def torch_module():
    """``torch`` when importable (the optional CPU peer), else None. With
    OPENBLAS_NUM_THREADS set, torch gets as many threads as numpy's BLAS."""
    try:
        import torch
    except ImportError:
        return None
    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    if threads and threads.isdigit() and torch.get_num_threads() != int(threads):
        torch.set_num_threads(int(threads))
    return torch


def torch_gd(A, y, U, V, step, iters):
    """PyTorch autograd on CPU: the loss ``0.5 ||A vec(U V^T) - y||^2`` differentiated;
    arguments and result as in :func:`plain_gd` (numpy arrays)."""
    torch = torch_module()
    with warnings.catch_warnings():  # A is read-only; torch warns though it never writes it
        warnings.simplefilter("ignore", UserWarning)
        At, yt = torch.from_numpy(A), torch.from_numpy(np.asarray(y, dtype=A.dtype))
    U, V = torch.tensor(U, requires_grad=True), torch.tensor(V, requires_grad=True)
    for _ in range(iters):
        r = At @ (U @ V.T).reshape(-1) - yt
        grad_U, grad_V = torch.autograd.grad(0.5 * (r @ r), (U, V))
        with torch.no_grad():
            U, V = U - step * grad_U, V - step * grad_V
        U.requires_grad_(), V.requires_grad_()
    return U.detach().numpy(), V.detach().numpy()


# "cpus": how many CPUs this process could use when jax_module() started JAX's backend (XLA
# sizes its thread pool from them); None if the backend had started before.
_JAX_BACKEND: dict = {}


def jax_module():
    """``jax`` when importable (the optional compiled peer), else None. The first call turns
    on 64-bit floats (``jax_enable_x64``: the float64 workloads) and starts JAX's CPU
    backend (see :func:`jax_backend_cpus`)."""
    try:
        import jax
    except ImportError:
        return None
    if not _JAX_BACKEND:
        jax.config.update("jax_enable_x64", True)
        started = None
        with contextlib.suppress(Exception):  # a private function: may move in a later JAX
            from jax._src.xla_bridge import backends_are_initialized

            started = backends_are_initialized()
        jax.devices("cpu")
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        _JAX_BACKEND["cpus"] = cpus if started is False else None
    return jax


def jax_backend_cpus() -> int | None:
    """How many CPUs this process could use when :func:`jax_module` started JAX's backend
    (XLA sizes its thread pool from them); None if it has not, or if the backend had been
    started before (by other code in the process)."""
    return _JAX_BACKEND.get("cpus")


@functools.cache
def _jax_loops():
    """The jitted GD loops (single run, batch); ``iters`` is traced, so another trip count
    reuses the compiled code. A and y are arguments (a closed-over array would be compiled
    in as a constant)."""
    jax = jax_module()
    jnp = jax.numpy

    def single(A, y, U, V, step, iters):
        n1, n2 = U.shape[0], V.shape[0]

        def body(_, UV):
            U, V = UV
            r = A @ (U @ V.T).reshape(-1) - y
            E = (r @ A).reshape(n1, n2)
            return U - step * (E @ V), V - step * (E.T @ U)

        return jax.lax.fori_loop(0, iters, body, (U, V))

    def batch(A, A_T, y, U, V, step, iters):
        runs, n1, n2 = U.shape[0], U.shape[1], V.shape[1]

        def body(_, UV):
            U, V = UV
            X = jnp.einsum("bik,bjk->bij", U, V).reshape(runs, n1 * n2)
            R = X @ A_T - y  # both products are GEMMs over the B runs: A is read once for all
            E = (R @ A).reshape(runs, n1, n2)
            return (
                U - step * jnp.einsum("bij,bjk->bik", E, V),
                V - step * jnp.einsum("bij,bik->bjk", E, U),
            )

        return jax.lax.fori_loop(0, iters, body, (U, V))

    return jax.jit(single), jax.jit(batch)


def jax_gd(A, y, U, V, step, iters):
    """The whole loop compiled by JAX (``jax.lax.fori_loop`` under ``jax.jit``) on CPU;
    arguments as in :func:`plain_gd` (numpy arrays, or arrays already on JAX's CPU device,
    which are then not copied), ``step`` a scalar of the arrays' dtype; returns the last
    ``U``, ``V`` as numpy arrays, once the computation has finished."""
    jax = jax_module()
    out = jax.block_until_ready(_jax_loops()[0](A, y, U, V, step, iters))
    return tuple(np.asarray(x) for x in out)


def jax_gd_batch(A, y, U, V, step, iters, A_T=None):
    """:func:`jax_gd` of B runs in one compiled loop: ``U`` (B, n1, k), ``V`` (B, n2, k),
    each iteration ``vec(U_b V_b^T)`` for every run by einsum, then the residuals
    ``X A^T - y`` and the adjoints ``R A`` as two matrix products, with ``A`` (m, n1·n2) and
    ``A_T``, its transpose stored row by row (n1·n2, m; made here when not given); returns
    the stacks of the last iterates."""
    # A^T is its own array: with A alone, the loop with XLA's X @ A.T took 0.04-0.18 passes
    # per run more at B = 8 (two trials at each size, one core of the 2-core AMD EPYC,
    # 2026-12-06); with A^T given it ran within 0.1 pass per run of the loop that compiles A
    # in as a constant (a closure), which costs a compilation per operator.
    jax = jax_module()
    if A_T is None:
        A_T = np.ascontiguousarray(np.asarray(A).T)
    out = jax.block_until_ready(_jax_loops()[1](A, A_T, y, U, V, step, iters))
    return tuple(np.asarray(x) for x in out)


def peers(w: Workload, op, y, U0, V0, step):
    """``name -> (iters -> (U, V) stacks)`` for the package and each peer on this workload.
    For a batch the peers make the B runs one after the other, except JAX, which compiles
    the batch as one loop (:func:`jax_gd_batch`)."""
    A = op.matrix
    dtype = np.dtype(w.dtype)
    if dtype != A.dtype:
        op = op.astype(dtype)
        A = op.matrix
    y_run = y.astype(dtype)
    U0s, V0s = (U0, V0) if w.batch else (U0[None], V0[None])
    U0s, V0s = U0s.astype(dtype), V0s.astype(dtype)

    def each(fn, data):
        def go(iters):
            out = [
                fn(data, y_run, U, V, dtype.type(step), iters)
                for U, V in zip(U0s, V0s, strict=True)
            ]
            return np.stack([u for u, _ in out]), np.stack([v for _, v in out])

        return go

    out = {"package": lambda iters: package_gd(op, y_run, U0, V0, step, iters, dtype=dtype)}
    if w.batch:

        def separate(iters):
            runs = [
                package_gd(op, y_run, U, V, step, iters, dtype=dtype)
                for U, V in zip(U0s, V0s, strict=True)
            ]
            return np.concatenate([u for u, _ in runs]), np.concatenate([v for _, v in runs])

        out["separate"] = separate
    out["plain"] = each(plain_gd, A)
    if not w.batch and dtype == np.float64:
        out["einsum"] = each(einsum_gd, A.reshape(w.m, w.n1, w.n2))
        if torch_module() is not None:
            out["torch"] = each(torch_gd, A)
    jax = jax_module()
    if jax is not None:
        # on the device once, outside the timing; the first call compiles (the check of
        # agreement() and the warm-up of the timings make it)
        cpu = jax.devices("cpu")[0]
        A_j, y_j = jax.device_put(A, cpu), jax.device_put(y_run, cpu)
        step_j = dtype.type(step)
        if w.batch:
            A_T = jax.device_put(np.ascontiguousarray(A.T), cpu)
            U_j, V_j = jax.device_put(U0s, cpu), jax.device_put(V0s, cpu)
            out["jax"] = lambda iters: jax_gd_batch(A_j, y_j, U_j, V_j, step_j, iters, A_T)
        else:
            U_j, V_j = jax.device_put(U0s[0], cpu), jax.device_put(V0s[0], cpu)

            def jax_single(iters):
                U, V = jax_gd(A_j, y_j, U_j, V_j, step_j, iters)
                return U[None], V[None]

            out["jax"] = jax_single
    return out, op


def agreement(candidates, iters: int = 3) -> dict[str, float]:
    """Max relative deviation of each peer's iterates from the package's after ``iters``
    steps (relative to the largest entry); raises if one exceeds the tolerance."""
    U, V = candidates["package"](iters)
    tol = RTOL if U.dtype == np.float64 else RTOL32
    scale = max(np.abs(U).max(), np.abs(V).max())
    out = {}
    for name, run in candidates.items():
        if name == "package":
            continue
        Up, Vp = run(iters)
        out[name] = float(max(np.abs(Up - U).max(), np.abs(Vp - V).max()) / scale)
        if not out[name] <= tol:
            raise AssertionError(f"{name} iterates differ from the package's: {out[name]:.2e}")
    return out
