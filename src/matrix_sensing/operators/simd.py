"""Explicit vectors in numba code: a vector type and the few operations the batch kernels use.

numba vectorizes loops by itself, but only along the loop it compiles: a sum over the
columns of A becomes vector accumulators that must be added across lanes at the end, and
a value that should stay in a register across a loop (a run's running sum, a block of G)
stays in memory because numba cannot prove that two arrays do not overlap. The batch
kernels of :mod:`~matrix_sensing.operators.batch` instead hold one entry of every run of a
batch in one vector (the runs' axis last, "run-minor"), so that each multiply-add serves
several runs and accumulators live in registers: the form of the micro-kernels of a
matrix-product library. On a CPU without vectors that wide LLVM splits each vector into
narrower ones; the results do not change.

Every operation rounds as its scalar
counterpart would (``fma`` rounds once, as a fused multiply-add does), so the kernels are
deterministic and independent of the vector width.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic, models, register_model

#: Entries of one vector: runs advanced together by one instruction (8 doubles fill an
#: AVX-512 register, 8 floats half of one).
LANES = 8


class Vector(types.Type):
    """``lanes`` entries of ``dtype`` (float32 or float64) in one LLVM vector value."""

    def __init__(self, dtype, lanes: int = LANES):
        self.dtype, self.lanes = dtype, lanes
        super().__init__(name=f"Vector({dtype}x{lanes})")


@register_model(Vector)
class _VectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        element = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(element, fe_type.lanes))


def _vector_pointer(context, builder, array_type, array, index, width: int):
    data = context.make_array(array_type)(context, builder, array).data
    vector_type = ir.VectorType(context.get_value_type(array_type.dtype), width)
    return builder.bitcast(builder.gep(data, [index]), vector_type.as_pointer())


@intrinsic
def load(typingctx, array, index):
    """``array[index : index + LANES]`` of a C-contiguous 1-D ``array``, as a vector."""
    sig = Vector(array.dtype)(array, index)

    def codegen(context, builder, signature, args):
        pointer = _vector_pointer(context, builder, signature.args[0], *args, LANES)
        return builder.load(pointer, align=array.dtype.bitwidth // 8)

    return sig, codegen


@intrinsic
def store(typingctx, array, index, vector):
    """``array[index : index + LANES] = vector`` for a C-contiguous 1-D ``array``."""
    sig = types.none(array, index, vector)

    def codegen(context, builder, signature, args):
        pointer = _vector_pointer(context, builder, signature.args[0], *args[:2], vector.lanes)
        builder.store(args[2], pointer, align=array.dtype.bitwidth // 8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def splat(typingctx, dtype, value):
    """A vector of ``LANES`` copies of ``value``, converted to ``dtype`` (an array's
    ``dtype`` attribute, or a numpy scalar type such as ``np.float64``)."""
    element = getattr(dtype, "dtype", None) or getattr(dtype, "instance_type", None)
    if element is None:
        return None
    width = LANES
    sig = Vector(element)(dtype, value)

    def codegen(context, builder, signature, args):
        scalar = context.cast(builder, args[1], signature.args[1], element)
        vector_type = ir.VectorType(context.get_value_type(element), width)
        one = builder.insert_element(
            ir.Constant(vector_type, ir.Undefined), scalar, ir.IntType(32)(0)
        )
        spread = ir.Constant(ir.VectorType(ir.IntType(32), width), [0] * width)
        return builder.shuffle_vector(one, one, spread)

    return sig, codegen


def _llvm_intrinsic(builder, name: str, vector_type, arity: int):
    """The LLVM intrinsic ``llvm.<name>`` on ``vector_type`` (llvmlite's declarations take
    scalar types only)."""
    suffix = "f64" if vector_type.element == ir.DoubleType() else "f32"
    full = f"llvm.{name}.v{vector_type.count}{suffix}"
    return builder.module.globals.get(full) or ir.Function(
        builder.module, ir.FunctionType(vector_type, [vector_type] * arity), full
    )


def _binary(name: str):
    @intrinsic
    def operation(typingctx, a, b):
        sig = a(a, b)

        def codegen(context, builder, signature, args):
            return getattr(builder, name)(*args)

        return sig, codegen

    return operation


add = _binary("fadd")
sub = _binary("fsub")
mul = _binary("fmul")


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` with one rounding, lane by lane."""
    sig = a(a, b, c)

    def codegen(context, builder, signature, args):
        return builder.call(_llvm_intrinsic(builder, "fma", args[0].type, 3), args)

    return sig, codegen


@intrinsic
def lane(typingctx, vector, index):
    """Entry ``index`` of ``vector``, as a scalar."""
    sig = vector.dtype(vector, index)

    def codegen(context, builder, signature, args):
        return builder.extract_element(args[0], builder.trunc(args[1], ir.IntType(32)))

    return sig, codegen


@intrinsic
def widen(typingctx, vector):
    """The vector in float64 (exact)."""
    sig = Vector(types.float64, vector.lanes)(vector)

    def codegen(context, builder, signature, args):
        if vector.dtype == types.float64:
            return args[0]
        return builder.fpext(args[0], ir.VectorType(ir.DoubleType(), vector.lanes))

    return sig, codegen


div = _binary("fdiv")


@intrinsic
def guard(typingctx, vector, floor):
    """Lane by lane: the entry where its magnitude is at least ``floor`` (a vector), else
    ``-floor``: the pivot guard of a Sturm sequence."""
    sig = vector(vector, floor)

    def codegen(context, builder, signature, args):
        value, low = args
        magnitude = builder.call(_llvm_intrinsic(builder, "fabs", value.type, 1), [value])
        big = builder.fcmp_ordered(">=", magnitude, low)
        return builder.select(big, value, builder.fneg(low))

    return sig, codegen


@intrinsic
def negatives(typingctx, vector):
    """Lane by lane: 1 where the entry is below zero, else 0 (for counting)."""
    sig = vector(vector)

    def codegen(context, builder, signature, args):
        below = builder.fcmp_ordered("<", args[0], ir.Constant(args[0].type, None))
        return builder.uitofp(below, args[0].type)

    return sig, codegen
