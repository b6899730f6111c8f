"""The derivative rules of the heads the passes introduce (gradient plumbing and helpers).

A differentiated program is made of these heads, so differentiating it again needs a rule
for each. Here each rule is checked the way the compiler uses it: a graph whose output is
the head applied to inputs is built by hand, differentiated by the adjoint sweep with the
registry's rule, emitted and imported, and its vector-Jacobian product compared with
central differences of its own forward function.
"""

from __future__ import annotations

import inspect

import mpmath
import numpy as np
import pytest
import sympy as sp

from derivgen import ops
from derivgen import symbolic as S
from derivgen.compiler import GRADIENT_PASSES, load
from derivgen.emit import describe, render
from derivgen.frontend.values import STATIC_KINDS
from derivgen.graph import Graph, Program, placeholder
from derivgen.reverse import differentiate

A0, A1, A2 = (placeholder(i) for i in range(3))


class Builder:
    """A graph made by hand: inputs (each its own shape label), then values over them."""

    def __init__(self, *inputs: str):
        self.graph = Graph()
        self.inputs = inputs
        self.ids = {n: self.graph.leaf("input", n, frozenset({n}), frozenset({n})) for n in inputs}

    def shape(self, name: str) -> int:
        return self.graph.add("shape", S.shape_of(A0), (self.ids[name],), labels=frozenset())

    def value(self, op: str, template, args, labels=None, static=()) -> int:
        operands = tuple(placeholder(i) for i in range(len(args)))
        return self.graph.add(op, template, tuple(args), labels=labels, operands=operands, static=static)

    def module(self, output: int, wrt, positions=frozenset()):
        program = Program(self.graph, self.inputs, self.ids, output, "f", "expression", "", "<graph>", "f",
                          positions=frozenset(positions))
        grad = differentiate(program, tuple(wrt))
        for gradient_pass in GRADIENT_PASSES:
            grad = gradient_pass(grad)
        return load(render(describe(program, grad, tuple(wrt), "# a hand-built graph", ("f",))), "plumbing")


def check_vjp(module, inputs: dict, wrt, seed: int = 0, rtol: float = 1e-7):
    """backward(inputs, g) against central differences of <g, forward(inputs)>."""
    rng = np.random.default_rng(seed)
    out = np.asarray(module.forward(**inputs))
    g = rng.uniform(0.5, 1.5, out.shape)
    grads = module.backward(**inputs, grad_output=g)
    for name in wrt:
        x = np.asarray(inputs[name], dtype=float)
        numeric = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            h = 1e-6 * max(1.0, abs(x[i]))
            moved = []
            for step in (h, -h):
                shifted = x.copy()
                shifted[i] += step
                moved.append(np.sum(g * np.asarray(module.forward(**{**inputs, name: shifted}))))
            numeric[i] = (moved[0] - moved[1]) / (2 * h)
        got = getattr(grads, name)
        assert np.shape(got) == x.shape, name
        np.testing.assert_allclose(got, numeric, rtol=rtol, atol=1e-8, err_msg=f"d/d{name}")


RNG = np.random.default_rng(7)


def test_sech2():
    b = Builder("x")
    module = b.module(b.value("sech2", S.sech2(A0), [b.ids["x"]]), ["x"])
    check_vjp(module, {"x": np.array([-3.0, -0.4, 0.0, 0.7, 2.5])}, ["x"])


def test_ndtr():
    # Phi, gelu's x * Phi(x): its rule, exp(-x**2 / 2) / sqrt(2 pi), is the gradient of gelu's gradient
    b = Builder("x")
    module = b.module(b.value("ndtr", S.ndtr(A0), [b.ids["x"]]), ["x"])
    x = np.array([-6.0, -1.3, 0.0, 0.4, 2.5])
    # to the conditioning of Phi, x**2 ulps of x: exact rounding at 0, 3.6e-14 at -6
    np.testing.assert_allclose(module.forward(x), [float(mpmath.ncdf(v)) for v in x], rtol=1e-13)
    check_vjp(module, {"x": x}, ["x"])


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((3,), ())])
def test_scaled(shapes):
    b = Builder("x", "g")
    module = b.module(b.value("scaled", S.scaled(A0, A1), [b.ids["x"], b.ids["g"]]), ["x", "g"])
    check_vjp(module, {"x": RNG.normal(size=shapes[0]), "g": RNG.normal(size=shapes[1])}, ["x", "g"])


@pytest.mark.parametrize("head", ["sum_product", "mean_product"])
@pytest.mark.parametrize("shapes", [((4,), (4,)), ((2, 3), (3,)), ((2, 1), (1, 3))])
def test_sum_and_mean_of_a_product(head, shapes):
    b = Builder("a", "c")
    value = b.value(head, getattr(S, head)(A0, A1), [b.ids["a"], b.ids["c"]], labels=frozenset())
    module = b.module(value, ["a", "c"])
    check_vjp(module, {"a": RNG.normal(size=shapes[0]), "c": RNG.normal(size=shapes[1])}, ["a", "c"])


# (head, shapes of g, a, b): g has the shape of a @ b (of np.dot(a, b)).
PRODUCT_GRADS = [
    ("matmul_grad_a", (2, 4), (2, 3), (3, 4)), ("matmul_grad_b", (2, 4), (2, 3), (3, 4)),
    ("matmul_grad_a", (2,), (2, 3), (3,)), ("matmul_grad_b", (4,), (3,), (3, 4)),
    ("matmul_grad_a", (5, 2, 4), (5, 2, 3), (3, 4)), ("matmul_grad_b", (5, 2, 4), (2, 3), (5, 3, 4)),
    ("dot_grad_a", (2, 4), (2, 3), (3, 4)), ("dot_grad_b", (2, 4), (2, 3), (3, 4)),
    ("dot_grad_a", (2,), (2, 3), (3,)), ("dot_grad_b", (2, 5, 4), (2, 3), (5, 3, 4)),
]


@pytest.mark.parametrize(("head", "g", "a", "c"), PRODUCT_GRADS)
def test_gradients_of_matrix_products(head, g, a, c):
    b = Builder("g", "a", "c")
    shaped_like = b.ids["a"] if head.endswith("_a") else b.ids["c"]
    value = b.value(head, getattr(S, head)(A0, A1, A2), [b.ids["g"], b.ids["a"], b.ids["c"]],
                    labels=b.graph[shaped_like].lo)
    module = b.module(value, ["g", "a", "c"])
    check_vjp(module, {"g": RNG.normal(size=g), "a": RNG.normal(size=a), "c": RNG.normal(size=c)}, ["g", "a", "c"])


@pytest.mark.parametrize(("g", "target"), [((2, 3), (3,)), ((2, 3), (2, 1)), ((4,), ()), ((3,), (3,))])
def test_unbroadcast(g, target):
    b = Builder("g", "t")
    value = b.value("unbroadcast", S.unbroadcast(A0, A1, sp.Integer(1)), [b.ids["g"], b.shape("t")],
                    labels=frozenset({"t"}))
    module = b.module(value, ["g"])
    check_vjp(module, {"g": RNG.normal(size=g), "t": np.zeros(target)}, ["g"])


@pytest.mark.parametrize(("a", "c", "target"), [((2, 3), (3,), (3,)), ((2, 3), (2, 3), ()), ((2, 1), (3,), (2, 1))])
def test_unbroadcast_of_a_product(a, c, target):
    b = Builder("a", "c", "t")
    value = b.value("unbroadcast_product", S.unbroadcast_product(A0, A1, A2, sp.Integer(1)),
                    [b.ids["a"], b.ids["c"], b.shape("t")], labels=frozenset({"t"}))
    module = b.module(value, ["a", "c"])
    check_vjp(module, {"a": RNG.normal(size=a), "c": RNG.normal(size=c), "t": np.zeros(target)}, ["a", "c"])


@pytest.mark.parametrize(("shape", "static"), [((3,), (0, 1)), ((3,), (0, 0)), ((2, 3), (0, -1)),
                                                 ((2, 1), (1, 1)), ((), (0,))])
def test_expand_reduced(shape, static):
    b = Builder("g")
    static = tuple(sp.Integer(s) for s in static)
    labels = frozenset({"#expanded"}) if len(static) > 1 and not static[0] else frozenset({"g"})
    value = b.graph.add("expand_reduced", S.expand_reduced(A0, *static), (b.ids["g"],), labels=labels,
                        operands=(A0,), static=static)
    module = b.module(value, ["g"])
    x = RNG.normal(size=shape)
    assert np.shape(module.forward(x)) == np.shape(np.expand_dims(x, [int(a) for a in static[1:]]) if
                                                   len(static) > 1 and not static[0] else x)
    check_vjp(module, {"g": x}, ["g"])


# index_grad(g, x, index) writes g into zeros like x at x[index] (a repeated position adds up);
# reshape_to(g, shape) reshapes g. Both are linear in g; x and the shape give only a shape.
@pytest.mark.parametrize(("g", "x", "index"), [((2,), (3,), (("slice", 1, None, None),)), ((), (3, 2), (1, -1)),
                                               ((3,), (4,), (("take", (0, 2, 0)),)),
                                               ((2, 1, 2), (2, 3), (Ellipsis, None, ("slice", None, None, 2)))])
def test_index_grad(g, x, index):
    b = Builder("g", "x")
    static = S.Static((index,))
    value = b.value("index_grad", S.index_grad(A0, A1, static), [b.ids["g"], b.ids["x"]],
                    labels=frozenset({"x"}), static=(static,))
    module = b.module(value, ["g"])
    check_vjp(module, {"g": RNG.normal(size=g), "x": np.zeros(x)}, ["g"])


# gather_grad(g, x, *arrays, index) and take_along_grad(g, x, indices, (axis, leading)) add g
# into zeros like x where x[index] or take_along_axis read (twice where a position repeats);
# both are linear in g, and the positions (an input t) give no gradient.
def test_gather_grad():
    b = Builder("g", "x", "t")
    static = S.Static(((("arange", 0, ("shape", 0, None)), ("at", 1)),))
    value = b.value("gather_grad", S.gather_grad(A0, A1, A2, static), [b.ids["g"], b.ids["x"], b.ids["t"]],
                    labels=frozenset({"x"}), static=(static,))
    module = b.module(value, ["g"], positions={"t"})
    check_vjp(module, {"g": RNG.normal(size=3), "x": np.zeros((3, 4)), "t": np.array([3, 0, 3])}, ["g"])


@pytest.mark.parametrize("leading", [False, True])
def test_take_along_grad(leading):
    b = Builder("g", "x", "t")
    static = S.Static((1, leading))
    value = b.value("take_along_grad", S.take_along_grad(A0, A1, A2, static),
                    [b.ids["g"], b.ids["x"], b.ids["t"]], labels=frozenset({"x"}), static=(static,))
    module = b.module(value, ["g"], positions={"t"})
    t = np.array([[0, 0, 3], [1, 2, 2]])
    x = np.zeros((3, 4)) if leading else np.zeros((1, 4))  # PyTorch's reads 2 of 3 rows, NumPy's broadcasts 1
    check_vjp(module, {"g": RNG.normal(size=(2, 3)), "x": x, "t": t}, ["g"])


# unstack(g, (axis, i, n)) is part i of a stack's adjoint, concat_part(g, *arrays, (axis, i))
# the slice of a concatenation's that array i was: linear in g, put back among zeros.
@pytest.mark.parametrize(("axis", "i"), [(0, 1), (-1, 2)])
def test_unstack(axis, i):
    b = Builder("g")
    static = S.Static((axis, i, 3))
    value = b.value("unstack", S.unstack(A0, static), [b.ids["g"]], labels=frozenset({"#part"}), static=(static,))
    module = b.module(value, ["g"])
    g = RNG.normal(size=(3, 2, 3))
    np.testing.assert_array_equal(module.forward(g), np.take(g, i, axis))
    check_vjp(module, {"g": g}, ["g"])


@pytest.mark.parametrize(("axis", "i"), [(0, 1), (-1, 0)])
def test_concat_part(axis, i):
    b = Builder("g", "a", "c")
    static = S.Static((axis, i))
    value = b.value("concat_part", S.concat_part(A0, A1, A2, static), [b.ids["g"], b.ids["a"], b.ids["c"]],
                    labels=frozenset({"#part"}), static=(static,))
    module = b.module(value, ["g"])
    a, c = np.zeros((2, 3)), np.zeros((3, 3)) if axis == 0 else np.zeros((2, 1))
    g = RNG.normal(size=np.concatenate([a, c], axis).shape)
    np.testing.assert_array_equal(module.forward(g, a, c), np.split(g, [a.shape[axis]], axis)[i])
    check_vjp(module, {"g": g, "a": a, "c": c}, ["g"])


# diagonal_grad(g, x, (offset, axis1, axis2)) writes g on a diagonal of zeros like x.
@pytest.mark.parametrize(("x", "static"), [((3, 4), (1, 0, 1)), ((2, 3, 3), (-1, 2, 1))])
def test_diagonal_grad(x, static):
    b = Builder("g", "x")
    value = b.value("diagonal_grad", S.diagonal_grad(A0, A1, S.Static(static)), [b.ids["g"], b.ids["x"]],
                    labels=frozenset({"x"}), static=(S.Static(static),))
    module = b.module(value, ["g"])
    g = RNG.normal(size=np.diagonal(np.zeros(x), *static).shape)
    np.testing.assert_array_equal(np.diagonal(module.forward(g, np.zeros(x)), *static), g)
    check_vjp(module, {"g": g, "x": np.zeros(x)}, ["g"])


# einsum_grad(g, *operands, (subscripts, k)) is the gradient of np.einsum with respect to
# operand k: linear in g and in the other operands (operand k's shape only is read). Its rule
# for g is the einsum with H for operand k, for another operand that einsum's gradient.
EINSUM_GRADS = [
    ("ij,jk->ik", 0, [(2, 3), (3, 4)]),
    ("ij,jk->ik", 1, [(2, 1), (3, 4)]),  # a size 1 stretched: the gradient is summed back
    ("ii->i", 0, [(3, 3)]),  # written on the diagonal
    ("iji,j->ij", 0, [(2, 3, 2), (3,)]),
    ("ij,jk->k", 0, [(2, 3), (3, 4)]),  # i summed out: stretched back along it
    ("...ij,...jk->...ik", 0, [(1, 2, 3), (4, 3, 2)]),  # an ellipsis broadcast: summed back
    ("...ij,...jk->...ik", 1, [(4, 2, 3), (3, 2)]),
    ("ij,jk,kl->il", 1, [(2, 3), (3, 4), (4, 2)]),
    (",->", 1, [(), ()]),
]


@pytest.mark.parametrize(("subscripts", "k", "shapes"), EINSUM_GRADS)
def test_einsum_grad(subscripts, k, shapes):
    names = ("x", "y", "z")[:len(shapes)]
    b = Builder("g", *names)
    static = S.Static((subscripts, k))
    args = [b.ids["g"], *(b.ids[n] for n in names)]
    template = S.einsum_grad(*(placeholder(i) for i in range(len(args))), static)
    value = b.value("einsum_grad", template, args, labels=frozenset({names[k]}), static=(static,))
    module = b.module(value, ["g", *(n for i, n in enumerate(names) if i != k)])
    operands = {n: RNG.normal(size=s) for n, s in zip(names, shapes)}
    g = RNG.normal(size=np.shape(np.einsum(subscripts, *operands.values())))
    # <h, einsum_grad(g)> = <g, einsum with h for operand k>, for any h of operand k's shape
    h = RNG.normal(size=shapes[k])
    with_h = [h if i == k else x for i, x in enumerate(operands.values())]
    np.testing.assert_allclose(np.sum(h * module.forward(g, *operands.values())),
                               np.sum(g * np.einsum(subscripts, *with_h)), rtol=1e-12)
    check_vjp(module, {"g": g, **operands}, ["g", *(n for i, n in enumerate(names) if i != k)])


@pytest.mark.parametrize(("axes", "k", "a", "c"), [(1, 0, (2, 3), (3, 4)), (((0, 2), (2, 0)), 1, (2, 3, 4), (4, 5, 2)),
                                                   ("inner", 0, (2, 3), (4, 3)), ("inner", 1, (), (2, 3))])
def test_tensordot_grad(axes, k, a, c):
    b = Builder("g", "a", "c")
    static = S.Static((axes, k))
    value = b.value("tensordot_grad", S.tensordot_grad(A0, A1, A2, static), [b.ids["g"], b.ids["a"], b.ids["c"]],
                    labels=frozenset({"ac"[k]}), static=(static,))
    other = "c" if k == 0 else "a"
    module = b.module(value, ["g", other])
    inputs = {"a": RNG.normal(size=a), "c": RNG.normal(size=c)}
    forward = np.inner if axes == "inner" else (lambda x, y: np.tensordot(x, y, axes))
    g = RNG.normal(size=np.shape(forward(*inputs.values())))
    check_vjp(module, {"g": g, **inputs}, ["g", other])


@pytest.mark.parametrize(("k", "a", "c"), [(0, (2, 3), (2, 2)), (1, (3,), (2, 2, 2)), (0, (), (2, 3))])
def test_kron_grad(k, a, c):
    b = Builder("g", "a", "c")
    static = S.Static((k,))
    value = b.value("kron_grad", S.kron_grad(A0, A1, A2, static), [b.ids["g"], b.ids["a"], b.ids["c"]],
                    labels=frozenset({"ac"[k]}), static=(static,))
    other = "c" if k == 0 else "a"
    module = b.module(value, ["g", other])
    inputs = {"a": RNG.normal(size=a), "c": RNG.normal(size=c)}
    g = RNG.normal(size=np.kron(*inputs.values()).shape)
    check_vjp(module, {"g": g, **inputs}, ["g", other])
# shift(x, (axis, step, fill)) moves x along an axis, fill coming in: linear in x, its adjoint is
# the shift back (with 0 coming in).
@pytest.mark.parametrize("static", [(1, 1, 1), (0, -1, 0), (-1, 2, 1), (1, 5, 0)])
def test_shift(static):
    b = Builder("x")
    value = b.value("shift", S.shift(A0, S.Static(static)), [b.ids["x"]], labels=frozenset({"x"}),
                    static=(S.Static(static),))
    module = b.module(value, ["x"])
    x = RNG.normal(size=(3, 4))
    axis, step, fill = static
    moved = np.moveaxis(np.full_like(x, fill), axis, 0)
    n = moved.shape[0]
    for j in range(n):
        if 0 <= j - step < n:
            moved[j] = np.moveaxis(x, axis, 0)[j - step]
    np.testing.assert_array_equal(module.forward(x), np.moveaxis(moved, 0, axis))
    check_vjp(module, {"x": x}, ["x"])


# linrec(a, b, (axis, reverse)): y[j] = a[j] * y[j - 1] + b[j] from y[0] = b[0] (reverse: from the
# end), a running product's gradient; its own is a linrec the other way, times y moved a place.
@pytest.mark.parametrize(("axis", "reverse"), [(1, 0), (1, 1), (0, 0), (-1, 1)])
def test_linrec(axis, reverse):
    b = Builder("a", "b")
    static = S.Static((axis, reverse))
    value = b.value("linrec", S.linrec(A0, A1, static), [b.ids["a"], b.ids["b"]], static=(static,))
    module = b.module(value, ["a", "b"])
    a, c = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4))
    a[1, 2] = a[0, 0] = 0.0  # a factor 0: nothing divides by it
    lanes_a, y = np.moveaxis(a, axis, 0), np.moveaxis(c.copy(), axis, 0)
    order = range(y.shape[0] - 2, -1, -1) if reverse else range(1, y.shape[0])
    for j in order:
        y[j] = lanes_a[j] * y[j + 1 if reverse else j - 1] + y[j]
    np.testing.assert_allclose(module.forward(a, c), np.moveaxis(y, 0, axis), rtol=1e-14)
    check_vjp(module, {"a": a, "b": c}, ["a", "b"])


@pytest.mark.parametrize(("g", "target"), [((6,), (2, 3)), ((2, 3), (3, 1, 2)), ((1,), ())])
def test_reshape_to(g, target):
    b = Builder("g", "t")
    value = b.value("reshape_to", S.reshape_to(A0, A1), [b.ids["g"], b.shape("t")], labels=frozenset({"t"}))
    module = b.module(value, ["g"])
    check_vjp(module, {"g": RNG.normal(size=g), "t": np.zeros(target)}, ["g"])


def _heads():
    return sorted(name for name, obj in vars(S).items()
                  if inspect.isclass(obj) and issubclass(obj, S.Opaque) and obj is not S.Opaque)


# The loop's bookkeeping (blocks.total): written by the last stage, never differentiated.
LOOP_ONLY = {"accumulate"}


@pytest.mark.parametrize("head", _heads())
def test_every_head_a_pass_can_introduce_has_a_derivative_rule(head):
    spec = ops.HEADS.get(head)
    assert spec is not None, f"{head} has no op entry"
    if head not in LOOP_ONLY:
        assert spec.rule is not None, f"{head} has no derivative rule"


def _arity(spec) -> int:
    if spec.params:  # a list of arrays (np.stack's): two of them
        return sum(2 if p.kind == "arrays" else p.kind in ("tensor", "cond", "bound", "positions", "number")
                   for p in spec.params)
    nargs = spec.head.nargs  # a FiniteSet of counts, or Naturals0 for any count
    return 2 if nargs == sp.S.Naturals0 else int(min(nargs))


STATIC_SAMPLES = {"int": 0, "axis1": 1, "axes": (1, 0), "order": (1, 0), "shape": (-1,), "sizes": (2, -1), "shifts": 2,
                  "index": (0,), "count": 2, "counts": (2, 1), "pad": 1, "subscripts": "ij,jk->ik", "contraction": 1,
                  "split": 2}
# The Static operands of internal heads that read theirs (a join's part: axis, part, parts;
# a contraction's gradient: its static arguments, then the operand it is for)
INTERNAL_STATIC = {"unstack": S.Static((0, 1, 2)), "concat_part": S.Static((0, 1)), "join_part": S.Static(("hstack", 1)),
                   "tri_grad": S.Static((0, False)), "unpad": S.Static((1, False)), "einsum_grad": S.Static(("ij,jk->ik", 0)),
                   "tensordot_grad": S.Static((1, 0)), "kron_grad": S.Static((0,)), "shift": S.Static((0, 1, 1)),
                   "linrec": S.Static((0, 0)), "argsort": S.Static((0, False, None)),
                   "split_grad": S.Static(("split", 2, 0, 0))}


def test_the_rules_that_pass_no_gradient_are_the_constant_and_condition_heads():
    def passes_none(spec):
        static = (INTERNAL_STATIC.get(spec.head_name, sp.Integer(0)),)
        if any(p.kind in STATIC_KINDS for p in spec.params):  # an op moving elements: a Static operand
            static = (S.Static(tuple(STATIC_SAMPLES[p.kind] for p in spec.params if p.kind in STATIC_KINDS)),)
        terms = spec.rule(tuple(sp.symbols(f"_p0:{_arity(spec)}")), static)
        return all(t is None for t in terms)

    none = sorted(spec.head_name for spec in ops.OPS.values()
                  if spec.head is not None and spec.rule is not None and passes_none(spec))
    # their users carry the gradient (a part of a helper), or they are shapes, counts, sizes and conditions
    assert none == sorted(["sigmoid_parts", "softplus_parts", "logaddexp_parts", "part", "exp_shift", "max_shift",
                           "live", "shaped_condition", "zeros_like", "nan_like", "size_ratio", "shape_of",
                           "sign", "floor", "ceiling", "size_of", "first_hit", "filled", "eye", "linspace",
                           "argsort", "floor_divide", "arange", "check", "shape_part", "argmax", "argmin",
                           "as_numbers"]), none


# tri_grad(g, x, (k, upper)): g's triangle (its rows added up for a vector x).
@pytest.mark.parametrize(("x", "static"), [((3, 4), (0, False)), ((2, 3, 3), (1, True)), ((4,), (-1, False))])
def test_tri_grad(x, static):
    b = Builder("g", "x")
    value = b.value("tri_grad", S.tri_grad(A0, A1, S.Static(static)), [b.ids["g"], b.ids["x"]],
                    labels=frozenset({"x"}), static=(S.Static(static),))
    module = b.module(value, ["g"])
    k, upper = static
    g = RNG.normal(size=np.tril(np.zeros(x)).shape)
    expected = (np.triu if upper else np.tril)(g, k)
    np.testing.assert_array_equal(module.forward(g, np.zeros(x)), expected.sum(axis=0) if len(x) == 1 else expected)
    check_vjp(module, {"g": g, "x": np.zeros(x)}, ["g"])


# tile_grad(g, x, (reps,)) adds up g's blocks; repeat_grad(g, x, (repeats, axis)) each element's copies.
@pytest.mark.parametrize(("x", "reps"), [((3,), 2), ((2, 3), (2, 1, 3)), ((2, 3, 2), (3, 2))])
def test_tile_grad(x, reps):
    b = Builder("g", "x")
    static = (reps,)
    value = b.value("tile_grad", S.tile_grad(A0, A1, S.Static(static)), [b.ids["g"], b.ids["x"]],
                    labels=frozenset({"x"}), static=(S.Static(static),))
    module = b.module(value, ["g"])
    a = RNG.normal(size=x)
    g = RNG.normal(size=np.tile(a, reps).shape)
    np.testing.assert_allclose(np.sum(module.forward(g, a) * a), np.sum(g * np.tile(a, reps)), rtol=1e-12)
    check_vjp(module, {"g": g, "x": a}, ["g"])


@pytest.mark.parametrize(("x", "static"), [((3,), (2, None)), ((2, 3), (3, 1)), ((2, 3), (2, None)), ((2, 3, 2), (2, -3))])
def test_repeat_grad(x, static):
    b = Builder("g", "x")
    value = b.value("repeat_grad", S.repeat_grad(A0, A1, S.Static(static)), [b.ids["g"], b.ids["x"]],
                    labels=frozenset({"x"}), static=(S.Static(static),))
    module = b.module(value, ["g"])
    a = RNG.normal(size=x)
    g = RNG.normal(size=np.repeat(a, *static).shape)
    np.testing.assert_allclose(np.sum(module.forward(g, a) * a), np.sum(g * np.repeat(a, *static)), rtol=1e-12)
    check_vjp(module, {"g": g, "x": a}, ["g"])


# unpad(g, (widths, last)): the part of g inside a pad's border.
@pytest.mark.parametrize(("g", "static", "inner"), [((5, 6), (1, False), (3, 4)), ((4, 6), (((1, 0), (2, 3)), False), (3, 1)),
                                                   ((2, 4, 7), ((1, 2, 0, 1), True), (2, 3, 4))])
def test_unpad(g, static, inner):
    b = Builder("g")
    value = b.value("unpad", S.unpad(A0, S.Static(static)), [b.ids["g"]], labels=frozenset({"#1"}),
                    static=(S.Static(static),))
    module = b.module(value, ["g"])
    a = RNG.normal(size=g)
    assert np.shape(module.forward(a)) == inner
    check_vjp(module, {"g": a}, ["g"])


# join_part(g, *arrays, (how, i)): the part of np.hstack's (vstack's, ...) adjoint array i was.
@pytest.mark.parametrize(("how", "a", "c", "i"), [("hstack", (3,), (2,), 1), ("hstack", (2, 1), (2, 3), 0),
                                                  ("vstack", (3,), (2, 3), 0), ("column_stack", (3,), (3, 2), 1),
                                                  ("dstack", (2, 3), (2, 3, 2), 0)])
def test_join_part(how, a, c, i):
    b = Builder("g", "a", "c")
    static = S.Static((how, i))
    value = b.value("join_part", S.join_part(A0, A1, A2, static), [b.ids["g"], b.ids["a"], b.ids["c"]],
                    labels=frozenset({"#part"}), static=(static,))
    module = b.module(value, ["g"])
    parts = [np.zeros(a), np.zeros(c)]
    g = RNG.normal(size=getattr(np, how)(parts).shape)
    marked = [np.full(a, 1.0), np.full(c, 2.0)]
    got = module.forward(g, *parts)
    assert np.shape(got) == np.shape(parts[i])
    np.testing.assert_array_equal(got, g[getattr(np, how)(marked) == i + 1].reshape(np.shape(parts[i])))
    check_vjp(module, {"g": g, "a": parts[0], "c": parts[1]}, ["g"])


# split_grad(g, x, (kind, arg, i, axis)): zeros like x with g where part i of the split was.
@pytest.mark.parametrize(("x", "static"), [((4, 3), ("split", 2, 1, 0)), ((3, 5), ("split", (1, 3), 2, 1)),
                                           ((5,), ("array_split", 3, 0, 0)), ((2, 5), ("sizes", (2, 3), 1, -1)),
                                           ((7, 2), ("chunk", 3, 2, 0))])
def test_split_grad(x, static):
    b = Builder("g", "x")
    value = b.value("split_grad", S.split_grad(A0, A1, S.Static(static)), [b.ids["g"], b.ids["x"]],
                    labels=frozenset({"x"}), static=(S.Static(static),))
    module = b.module(value, ["g"])
    a = RNG.normal(size=x)
    kind, arg, i, axis = static
    cuts = {"split": arg, "array_split": arg, "sizes": [2], "chunk": [3, 6]}[kind]
    part = (np.array_split if kind == "array_split" else np.split)(a, list(cuts) if isinstance(cuts, tuple) else cuts,
                                                                  axis)[i]
    g = RNG.normal(size=part.shape)
    np.testing.assert_allclose(np.sum(module.forward(g, a) * a), np.sum(g * part), rtol=1e-12)
    check_vjp(module, {"g": g, "x": a}, ["g"])


# diag_grad(g, x, (k,)): the k-th diagonal of g for a vector x; g on the k-th diagonal of zeros like a matrix x.
@pytest.mark.parametrize(("x", "k"), [((3,), 0), ((3,), -2), ((3, 4), 1), ((4, 2), -1)])
def test_diag_grad(x, k):
    b = Builder("g", "x")
    static = S.Static((k,))
    value = b.value("diag_grad", S.diag_grad(A0, A1, static), [b.ids["g"], b.ids["x"]], labels=frozenset({"x"}),
                    static=(static,))
    module = b.module(value, ["g"])
    a = RNG.normal(size=x)
    g = RNG.normal(size=np.diag(a, k).shape)
    np.testing.assert_allclose(np.sum(module.forward(g, a) * a), np.sum(g * np.diag(a, k)), rtol=1e-12)
    check_vjp(module, {"g": g, "x": a}, ["g"])
