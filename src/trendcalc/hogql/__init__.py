"""A HogQL expression subset: parse at the edge (``parse_expression``), evaluate in the engine.

Used by ``math: "hogql"`` (``math_hogql``, an aggregate expression per cell) and
``breakdown_type: "hogql"`` (a row expression whose text is the breakdown value). The subset:
literals, ``properties.<key>`` / ``person.properties.<key>`` / event columns, arithmetic,
comparisons, AND/OR/NOT, IN, IS NULL, ``?:``, CASE WHEN, aliases (ignored), the scalar
functions in ``functions.SCALARS`` and the aggregates in ``functions.AGGREGATES``.
"""

from .ast import Call, Const, Expr, Field, walk
from .evaluate import evaluate
from .functions import AGGREGATES, SCALARS, to_text
from .parser import parse_expression

__all__ = ["AGGREGATES", "SCALARS", "Call", "Const", "Expr", "Field", "evaluate", "parse_expression", "to_text", "walk"]
