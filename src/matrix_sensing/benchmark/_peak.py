"""The machine's peak multiply-add rate on one core, from code generated as LLVM IR.

numba offers no way to ask for independent vector FMA chains, and numpy's BLAS may not use the
widest vectors the CPU has: the loop is written in LLVM IR for the host's vector width and
compiled for the host CPU by llvmlite (numba's back end), so its rate is the arithmetic
limit of an iteration, as one pass over A is the memory limit.
"""

from __future__ import annotations

import numpy as np

from ._timers import per_iteration

#: Independent chains of vector multiply-adds in :func:`peak_timer`: enough to cover the
#: latency of the FMA units (4 cycles x 2 units), few enough to stay in 16 registers.
PEAK_CHAINS = 12
#: Loop trips of one timed call of the peak loop.
PEAK_ITERS = 2_000_000


def host_lanes(dtype) -> int:
    """Entries of ``dtype`` (float64 or float32) in the widest vector register of this CPU:
    8 doubles with AVX-512, 4 with AVX, 2 otherwise."""
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    doubles = 8 if features.get("avx512f") else 4 if features.get("avx") else 2
    return doubles if np.dtype(dtype) == np.float64 else 2 * doubles


def peak_ir(dtype, lanes: int) -> str:
    """The LLVM IR of the peak loop: ``@peak(i64 %n)`` runs ``n`` trips of
    :data:`PEAK_CHAINS` independent ``llvm.fma`` chains on vectors of ``lanes`` entries of
    ``dtype`` (float64 or float32) and returns one entry of their sum. Printed, it is the
    code :func:`peak_timer` times."""
    ty, suffix = ("double", "f64") if np.dtype(dtype) == np.float64 else ("float", "f32")
    vec = f"<{lanes} x {ty}>"
    fma = f"@llvm.fma.v{lanes}{suffix}"

    def splat(value: str) -> str:
        return "<" + ", ".join([f"{ty} {value}"] * lanes) + ">"

    chains = range(PEAK_CHAINS)
    lines = [
        f"declare {vec} {fma}({vec}, {vec}, {vec})",
        f"define {ty} @peak(i64 %n) {{",
        "entry:",
        "  br label %loop",
        "loop:",
        "  %i = phi i64 [0, %entry], [%i1, %loop]",
    ]
    lines += [f"  %a{c} = phi {vec} [{splat(f'{c}.0')}, %entry], [%b{c}, %loop]" for c in chains]
    # a <- a * (1 - 2^-24) + 2^-30 stays bounded: no overflow, no denormals
    lines += [
        f"  %b{c} = call {vec} {fma}({vec} %a{c}, {vec} {splat('0x3FEFFFFFE0000000')},"
        f" {vec} {splat('0x3E10000000000000')})"
        for c in chains
    ]
    lines += [
        "  %i1 = add i64 %i, 1",
        "  %more = icmp ult i64 %i1, %n",
        "  br i1 %more, label %loop, label %exit",
        "exit:",
    ]
    # every chain feeds the result, or LLVM would delete it
    lines += [f"  %s{c} = fadd {vec} %{'b' if c == 1 else 's'}{c - 1}, %b{c}" for c in chains if c]
    lines += [f"  %e = extractelement {vec} %s{PEAK_CHAINS - 1}, i32 0", f"  ret {ty} %e", "}"]
    return "\n".join(lines)


def peak_timer(dtype, iters: int = PEAK_ITERS):
    """Seconds per fused multiply-add at the machine's peak: the loop of :func:`peak_ir` on
    the widest vectors the CPU has (:func:`host_lanes`), compiled for this CPU by llvmlite,
    ``iters`` trips per timed call. The arithmetic limit, as one pass over A is the memory
    limit."""
    import ctypes

    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    lanes = host_lanes(dtype)
    ctype = ctypes.c_double if np.dtype(dtype) == np.float64 else ctypes.c_float
    module = llvm.parse_assembly(peak_ir(dtype, lanes))
    module.verify()
    machine = llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=2
    )
    engine = llvm.create_mcjit_compiler(module, machine)
    engine.finalize_object()
    peak = ctypes.CFUNCTYPE(ctype, ctypes.c_int64)(engine.get_function_address("peak"))
    timer = per_iteration(lambda: peak(iters), iters * PEAK_CHAINS * lanes)
    timer.engine = engine  # the compiled code lives as long as the timer
    return timer
