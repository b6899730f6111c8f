"""The front end: Python source -> a Program (an SSA graph), through an allowlist of AST nodes.

Nothing in the source is ever executed or imported. Each accepted node type has one
``visit_*`` method, statements (``statements.py``) and expressions (``expressions.py``)
alike; every other node is rejected with a ParseError that names the construct and points
at its line and column. Helper functions are inlined at their call sites (``calls.py``);
re-assignment becomes a new SSA value (``values.py``). ``reading.py`` reads the source and
its syntax (``nesting.py``: sources nested past CPython's limit), ``definitions.py`` its top
level and ``modules.py`` its imports; ``statics.py`` reads the arguments known at compile time (axes, shapes, indexes),
``sizes.py`` the integers read off shapes when the module runs (``len(x)``, ``x.shape[0]``),
``casts.py`` casts to a floating dtype (``(x > 0).float()``), ``contractions.py`` np.einsum's
subscripts and np.tensordot's axes, ``sugar.py`` calls read as other
ops (``np.diff``), ``arrays.py`` arrays of constants (``np.zeros(3)``, ``np.eye(n)``),
``sorting.py`` the values of sorts (``np.sort``, ``torch.topk``), ``statistics.py`` np.var and
np.std (and PyTorch's),
``positions.py`` indexes by positions known when the module runs
(``logp[np.arange(n), t]``),
``python.py`` the Python that runs at compile time (tuples, if, loops unrolled),
``assertions.py`` assert statements (on sizes: checked when the module runs), ``special.py``
torch.logit's eps and x.polygamma(n), ``distributions.py`` scipy.stats' log densities;
``limits.py`` bounds the work a source can cause. Later stages read the Program
(``derivgen/graph.py``), never the parser.
"""

from __future__ import annotations

import ast

from ..graph import Graph, Program
from .arrays import ConstantArrays
from .assertions import Assertions
from .calls import Calls
from .casts import Casts
from .contractions import Contractions
from .definitions import Definitions
from .distributions import Distributions
from .expressions import Expressions
from .losses import Losses
from .modules import Modules
from .positions import RunTimePositions
from .python import CompileTime
from .reading import Reading, normalize
from .sizes import Sizes
from .sorting import Sorting
from .special import SpecialCalls
from .statements import Statements
from .statics import Statics
from .statistics import Statistics
from .stencils import Stencils
from .sugar import Sugar
from .values import Values

__all__ = ["Parser", "parse"]


class Parser(Reading, Definitions, Modules, Statements, Assertions, Expressions, CompileTime, Calls, Contractions, Statics, Sizes,
             Casts, Sugar, Stencils, Losses, Statistics, ConstantArrays, Sorting, SpecialCalls, Distributions,
             RunTimePositions, Values):
    """One parse of one source: the graph it builds and what the source defines."""

    def __init__(self, source: str, filename: str):
        source = normalize(source)
        self.source = source
        self.filename = filename
        self.lines = source.split("\n")
        self.graph = Graph()
        self.functions: dict[str, ast.FunctionDef] = {}
        self.globals: dict[str, object] = {}
        self.imports: dict[str, str] = {}  # local name -> module path (modules.py)
        self.inputs: dict[str, int] = {}
        self.free_inputs = False  # expression mode: unknown names become inputs
        self.call_stack: list[str] = []
        self.inlined: dict[tuple, object] = {}  # (helper, arguments) -> its value
        self.nodes = 0  # expression nodes read so far, against limits.MAX_NODES
        self.returned_at = None  # the value of the last return statement read
        self.takes: dict[int, bool] = {}  # Graph.takes_input's memo (Values.plain)
        self.positions_used: dict[str, ast.AST] = {}  # inputs used as an index -> the first such use
        self.arange_positions: dict = {}  # np.arange(n) values -> the Positions an index reads them as
        self.checks: list[int] = []  # the asserts on sizes (assertions.py), in source order


def parse(source: str, function: str | None = None, filename: str = "<source>") -> Program:
    return Parser(source, filename).parse(function)
