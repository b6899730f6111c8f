"""Calls: an op's arguments bound to its parameters, and helper functions inlined."""

from __future__ import annotations

import ast

import sympy as sp

from .. import ops
from .language import MaxResult, Poison, int_literal, short
from .limits import MAX_AXES, MAX_INLINE_DEPTH

# Parameters that may be given as several positional arguments (the last ones of a call).
VARARGS = ("shape", "sizes", "axes", "order")
_MAX_COUNT = 1 << 20  # a repeat count beyond this is refused: the array it makes would not fit


class Calls:
    """Calls of ops (their parameters bound and checked) and of helper functions (inlined)."""

    def _check_max(self, spec, node, self_node, torch: bool) -> None:
        """max and min with an axis mean the values in NumPy (np.max(x, 1), x.max(axis=1))
        but (values, indices) in PyTorch (torch.max(x, 1), x.max(dim=1), x.max(1)), and
        torch.max(a, b) and Python's max(a, b) are maximum(a, b): those are refused, not guessed."""
        name = _spelled(node)
        if spec.name not in ("amax", "amin") or name not in ("max", "min"):
            return
        keywords = {kw.arg for kw in node.keywords}
        values = f"{'torch.' if torch else 'x.'}a{name}"
        if torch and (node.args[1:] or "dim" in keywords):
            raise self.error(node, f"torch.{name}(a, b) of two arrays is the elementwise {name}imum",
                             f"write torch.{name}imum(a, b); torch.{name}(x, dim) takes an integer dim")
        if self_node is not None and (node.args or "dim" in keywords):
            raise self.error(node, f"x.{name}(dim) is the values in NumPy but (values, indices) in PyTorch",
                             f"write x.{name}(axis=...) or {values}(dim) for the values")
        if self_node is None and not torch and isinstance(node.func, ast.Name) and node.args[1:]:
            raise self.error(node, f"{name}(a, b) is the elementwise {name}imum in Python",
                             f"write {name}imum(a, b), or np.{name}(x, axis=...) for a reduction")

    def _check_prod(self, node) -> None:
        """np.prod's initial= and where= are refused with what to write instead."""
        hints = {"initial": "multiply by it: v * np.prod(x)",
                 "where": "make the factors left out 1: np.prod(np.where(mask, x, 1.0))"}
        for kw in node.keywords:
            if kw.arg in hints:
                raise self.error(kw.value, f"prod()'s {kw.arg}= is not supported", hints[kw.arg])

    def _max_with_indices(self, spec, node, env, self_node, torch: bool):
        """torch.max(x, dim[, keepdim]), x.max(dim=...), and min: (values, indices) as PyTorch
        returns them, the gradient going to the first extreme element (the index it returns);
        None where the call is not of that form (torch.max(a, b) of two arrays)."""
        name = _spelled(node)
        if spec.name not in ("amax", "amin") or name not in ("max", "min") or not (torch or self_node is not None):
            return None
        keywords = {kw.arg: kw.value for kw in node.keywords}
        args = list(node.args)
        x_node = self_node if self_node is not None else (args.pop(0) if args else keywords.pop("input", None))
        if self_node is not None and args:
            return None  # x.max(1): NumPy's values or PyTorch's pair, refused by _check_max
        dim = args.pop(0) if args else keywords.pop("dim", None)
        keep = args.pop(0) if args else keywords.pop("keepdim", None)
        if dim is None or x_node is None or args or keywords:
            return None
        axis = self.expr(dim, env)
        if not isinstance(axis, sp.Integer):
            return None  # torch.max(a, b): the elementwise maximum, refused by _check_max
        axis = self.static_axes(dim, env, none=False, single=True)
        keepdims = self.flag(keep, ops.Param("keepdim", "flag", False))
        x = self.expr(x_node, env)
        self.require_tensor(x, x_node)
        values = self.apply_op(ops.OPS[f"{name}_dim"], [x], {"axes": (axis,), "keepdims": keepdims}, node)
        x = self.as_value(x, x_node, f"torch.{name}()")
        indices = self.positions_of(f"arg{name}", x, axis, keepdims)  # the first extreme element's, as PyTorch's
        return MaxResult((values, indices))

    def call(self, spec: ops.OpSpec, node: ast.Call, env, self_node, torch: bool = False):
        if spec.name == "einsum":  # its subscripts and operands are read by frontend/contractions.py
            return self.einsum_call(node, env)
        spec = _transpose_overload(spec, node, self_node, torch)
        paired = self._max_with_indices(spec, node, env, self_node, torch)
        if paired is not None:
            return paired
        self._check_max(spec, node, self_node, torch)
        if spec.name == "prod":
            self._check_prod(node)
        bound = self.bind_arguments(spec, node, self_node)
        spec = self.chosen(spec, bound)  # F.gelu(x, approximate='tanh'): the op the string names
        operands, static = [], {}
        for param in spec.params:
            arg = bound.get(param.name)
            if param.kind in ("tensor", "cond"):
                if arg is None:
                    raise self.error(node, f"{spec.name}() is missing its argument '{param.name}'",
                                     f"signature: {spec.signature()}")
                item = self.expr(arg, env)
                if param.kind == "cond":
                    if isinstance(item, Poison):
                        raise item.error
                    if not self.is_cond(item):
                        raise self.error(arg, f"the first argument of {spec.name}() must be a condition "
                                              "such as x > 0")
                else:
                    self.require_tensor(item, arg)
                operands.append(item)
            elif param.kind == "arrays":  # np.stack([a, b]): each array an operand
                if arg is None:
                    raise self.error(node, f"{spec.name}() is missing its argument '{param.name}'",
                                     f"signature: {spec.signature()}")
                operands.extend(self.array_sequence(arg, env, f"{_spelled(node)}()"))
            elif param.kind == "positions":  # integers an op reads positions from (no gradient)
                if arg is None:
                    raise self.error(node, f"{spec.name}() is missing its argument '{param.name}'",
                                     f"signature: {spec.signature()}")
                operands.append(self.positions_operand(self.expr(arg, env), arg,
                                                       f"{_spelled(node)}()'s {param.name}"))
            elif param.kind == "bound":
                if arg is None or (isinstance(arg, ast.Constant) and arg.value is None):
                    operands.append(-sp.oo if param.name == "min" else sp.oo)
                else:
                    item = self.expr(arg, env)
                    self.require_tensor(item, arg)
                    operands.append(item)
            elif param.kind == "number":  # a constant of the op's formula (F.elu's alpha)
                operands.append(self.constant_parameter(spec, param, arg, env))
            elif param.kind == "choice":
                continue
            elif param.kind == "axis":
                static["axes"] = self.axis(arg)
            elif param.kind == "flag":
                static["keepdims"] = self.flag(arg, param)
            else:  # an argument of an op that moves elements, written into its Static operand
                static[param.name] = self.static_argument(spec, param, arg, node, env,
                                                          operands[0] if operands else None)
        return self.apply_op(spec, operands, static, node)

    def chosen(self, spec, bound):
        """The op a string literal among a parameter's choices names (F.gelu's approximate)."""
        for param in spec.params:
            if param.kind != "choice":
                continue
            arg = bound.get(param.name)
            choices = dict(param.choices)
            allowed = " or ".join(repr(c) for c in choices)
            if arg is not None and not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                raise self.error(arg, f"{spec.name}()'s {param.name} must be a string literal, {allowed}",
                                 f"write {param.name}={param.default!r}")
            value = param.default if arg is None else arg.value
            if value not in choices:
                raise self.error(arg, f"{spec.name}()'s {param.name} must be {allowed}, not {short(repr(value))}",
                                 f"write {param.name}={param.default!r}")
            spec = ops.OPS[choices[value]]
        return spec

    def constant_parameter(self, spec, param, arg, env):
        """A number an op's formula is written with (F.elu's alpha, F.softplus's beta): a
        finite constant known when compiling, never an input or a size read when the module runs."""
        if arg is None:
            return sp.Float(param.default)
        value = self.expr(arg, env)
        if isinstance(value, Poison):
            raise value.error
        if not isinstance(value, sp.Number) or not value.is_finite:
            raise self.error(arg, f"{spec.name}()'s {param.name} must be a finite number known when compiling",
                             f"write a constant, such as {param.name}={param.default!r}")
        return sp.Float(float(value))

    def array_sequence(self, node, env, what: str) -> list:
        """The arrays a list or tuple (written, or a tuple of values) holds, for np.stack."""
        items = ([self.expr(e, env) for e in node.elts] if isinstance(node, (ast.List, ast.Tuple))
                 else self.expr(node, env))
        if not isinstance(items, (list, tuple)):
            raise self.error(node, f"{what} takes a list or tuple of arrays", "write [a, b] or (a, b)")
        if not items:
            raise self.error(node, f"{what} needs at least one array")
        elements = node.elts if isinstance(node, (ast.List, ast.Tuple)) else [node] * len(items)
        for item, element in zip(items, elements):
            self.require_tensor(item, element)
            if isinstance(item, Poison):
                raise item.error
        return list(items)

    def array_literal(self, node: ast.Call, env):
        """np.array([a, b]) / np.asarray: a list of values stacked along axis 0 (lists in it
        first); of a single array, that array."""
        if len(node.args) != 1 or any(kw.arg != "dtype" for kw in node.keywords):
            raise self.error(node, f"{_spelled(node)}() takes one list of values (and dtype=float)",
                             "write np.array([a, b, c])")
        for kw in node.keywords:  # a floating dtype changes nothing: the module computes in the inputs'
            self._check_float_dtype(kw.value, env, _spelled(node))
        return self._literal(node.args[0], env, node)

    def _literal(self, element, env, call):
        if not isinstance(element, (ast.List, ast.Tuple)):
            value = self.expr(element, env)
            self.require_tensor(value, element)
            return value
        if not element.elts:
            raise self.error(element, "an empty array has no values to differentiate")
        items = [self._literal(e, env, call) for e in element.elts]
        return self.apply_op(ops.OPS["stack"], items, {"axis": 0}, call)

    def static_argument(self, spec, param, arg, node, env, own=None):
        if arg is None:
            if param.default is ops.REQUIRED:
                raise self.error(node, f"{spec.name}() is missing its argument '{param.name}'",
                                 f"signature: {spec.signature()}")
            return param.default
        if param.kind == "int":
            return self.static_int(arg, env, f"{spec.name}()'s {param.name}")
        if param.kind == "shape":
            return self.static_shape(arg, env, own)
        if param.kind == "sizes":
            return self.static_sizes(arg, env, own)
        if param.kind == "axis1":  # None or one axis (np.cumsum's)
            return self.static_axes(arg, env, single=True)
        if param.kind in ("count", "counts"):  # np.repeat's repeats, np.tile's reps: whole numbers >= 0
            what = f"{spec.name}()'s {param.name}"
            if param.kind == "counts" and isinstance(arg, (ast.Tuple, ast.List)):
                counts = tuple(self.static_int(e, env, what) for e in arg.elts)
            elif param.kind == "count" and isinstance(arg, (ast.Tuple, ast.List)):
                raise self.error(arg, f"{what} must be one integer",
                                 "a count per element is not supported: repeat each part and join them")
            else:
                counts = self.static_int(arg, env, what)
            if any(c < 0 for c in (counts if isinstance(counts, tuple) else (counts,))):
                raise self.error(arg, f"{what} must not be negative")
            if any(c > _MAX_COUNT for c in (counts if isinstance(counts, tuple) else (counts,))):
                raise self.error(arg, f"{what} is too large (at most {_MAX_COUNT})")
            return counts
        if param.kind == "contraction":  # np.tensordot's axes
            return self.contraction_axes(arg, env, f"{spec.name}()'s {param.name}")
        if param.kind == "shifts":  # np.roll's: an int or a tuple of ints, any of them
            if isinstance(arg, (ast.Tuple, ast.List)):
                return tuple(self.static_int(e, env, f"{spec.name}()'s {param.name}") for e in arg.elts)
            return self.static_int(arg, env, f"{spec.name}()'s {param.name}")
        axes = self.static_axes(arg, env, none=param.default is None)
        return (axes,) if param.kind == "order" and isinstance(axes, int) else axes

    def bind_arguments(self, spec, node, self_node) -> dict:
        params = spec.params
        positional = ([self_node] if self_node is not None else []) + list(node.args)
        if len(positional) > len(params) and params and params[-1].kind in VARARGS:
            # x.reshape(2, -1), x.permute(2, 0, 1): the last sizes or axes as one tuple
            rest = positional[len(params) - 1:]
            packed = ast.Tuple(elts=rest, ctx=ast.Load())
            ast.copy_location(packed, rest[0])
            packed.end_lineno, packed.end_col_offset = rest[-1].end_lineno, rest[-1].end_col_offset
            positional = positional[:len(params) - 1] + [packed]
        if len(positional) > len(params):
            raise self.error(node, f"{spec.name}() takes at most {len(params)} arguments, "
                                   f"got {len(positional)}", f"signature: {spec.signature()}")
        bound = {p.name: a for p, a in zip(params, positional)}
        for kw in node.keywords:
            param = next((p for p in params if kw.arg == p.name or kw.arg in p.aliases), None)
            if param is None:
                raise self.error(kw.value, f"{spec.name}() got an unexpected keyword '{short(kw.arg)}'",
                                 f"signature: {spec.signature()}")
            if param.name in bound:
                raise self.error(kw.value, f"{spec.name}() got '{param.name}' twice",
                                 f"signature: {spec.signature()}")
            bound[param.name] = kw.value
        return bound

    def axis(self, node) -> tuple[int, ...]:
        if node is None or (isinstance(node, ast.Constant) and node.value is None):
            return ()
        items = node.elts if isinstance(node, (ast.Tuple, ast.List)) else [node]
        if len(items) > MAX_AXES:
            raise self.error(node, f"an axis tuple lists at most {MAX_AXES} axes, got {len(items)}",
                             f"NumPy arrays have at most {MAX_AXES} dimensions")
        axes, seen = [], set()
        for item in items:
            value = int_literal(item)
            if value is None:
                raise self.error(item, "an axis must be an integer literal (negative allowed), "
                                       "a tuple of them, or None")
            if not -MAX_AXES <= value < MAX_AXES:
                shown = str(value) if abs(value) < 10**20 else "this large"
                raise self.error(item, f"axis {shown} is out of range",
                                 f"NumPy arrays have at most {MAX_AXES} dimensions")
            if value in seen:
                raise self.error(item, f"axis {value} is repeated")
            seen.add(value)
            axes.append(value)
        if not axes:
            raise self.error(node, "an empty axis tuple is not supported; use axis=None")
        return tuple(axes)

    def flag(self, node, param) -> bool:
        if node is None:
            return bool(param.default)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return node.value
        raise self.error(node, f"{param.name} must be True or False")

    def inline(self, fdef: ast.FunctionDef, node: ast.Call, env):
        if fdef.name in self.call_stack:
            raise self.error(node, f"recursive call to '{fdef.name}'",
                             "helper functions are inlined, so they cannot call themselves")
        if len(self.call_stack) >= MAX_INLINE_DEPTH:
            raise self.error(node, "helper functions are nested too deeply")
        self._check_decorators(fdef)
        self._check_parameters(fdef)
        args = fdef.args
        if args.vararg or args.kwarg or args.posonlyargs:
            raise self.error(fdef, f"'{fdef.name}' uses *args, **kwargs or positional-only parameters, "
                                   "which are not supported")
        params = [a.arg for a in args.args + args.kwonlyargs]
        defaults = dict(zip([a.arg for a in args.args][len(args.args) - len(args.defaults):], args.defaults))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
        signature = f"{fdef.name}({', '.join(params)})"
        if len(node.args) > len(args.args):
            raise self.error(node, f"{fdef.name}() takes {len(args.args)} positional arguments, "
                                   f"got {len(node.args)}", f"signature: {signature}")
        local: dict = {}
        for a, value in zip(args.args, node.args):
            local[a.arg] = self.expr(value, env)
        for kw in node.keywords:
            if kw.arg not in params:
                raise self.error(kw.value, f"{fdef.name}() got an unexpected keyword '{short(kw.arg)}'",
                                 f"signature: {signature}")
            if kw.arg in local:
                raise self.error(kw.value, f"{fdef.name}() got '{kw.arg}' twice", f"signature: {signature}")
            local[kw.arg] = self.expr(kw.value, env)
        for p in params:
            if p not in local:
                if p not in defaults:
                    raise self.error(node, f"{fdef.name}() is missing its argument '{p}'",
                                     f"signature: {signature}")
                local[p] = self.expr(defaults[p], {})
        # A helper's value depends only on its arguments: the same call is inlined once.
        key = (fdef.name,) + tuple((type(local[p]).__name__, local[p]) for p in params)
        if key in self.inlined:
            return self.inlined[key]
        self.call_stack.append(fdef.name)
        try:
            result = self.run_body(fdef, local)
        finally:
            self.call_stack.pop()
        self.inlined[key] = result
        return result


def _spelled(node: ast.Call) -> str:
    return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")


def _transpose_overload(spec, node, self_node, torch: bool):
    """transpose with axes: NumPy's permutes them (np.transpose(x, (1, 0, 2))), PyTorch's
    swaps two (torch.transpose(x, 0, 1)); a method given two axes swaps them, which is also
    NumPy's meaning for a matrix (x.transpose(1, 0))."""
    given = len(node.args) + len(node.keywords) + (self_node is not None)
    if spec.name != "transpose" or given <= 1:
        return spec
    if torch or (self_node is not None and given == 3):
        return ops.OPS["swapaxes"]
    return ops.OPS["permute"]
