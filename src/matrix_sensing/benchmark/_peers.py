"""The package's solver and its peers on the same data, and the check that they agree.

A peer is the same gradient descent written another way: the natural numpy loop, an einsum
over the (m, n1, n2) tensor, PyTorch autograd on CPU (when torch is importable; it is not a
requirement and is imported only when asked for).
"""

from __future__ import annotations

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


def peers(w: Workload, op, y, U0, V0, step):
    """``name -> (iters -> (U, V) stacks)`` for the package and each peer on this workload.
    For a batch the peers make the B runs one after the other."""
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
