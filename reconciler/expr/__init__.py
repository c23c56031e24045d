"""One expression language for policies and lifecycle conditions: CEL (cel-python).

    compile_expression(source, names=("object", "plan"), where=Where(file, line, address, field))
        -> Expression          # syntax, unknown identifiers and plainly non-boolean rules refused here
    Expression.evaluate(activation) -> bool   # evaluation failures and non-boolean results refused

Every error is a `SpecError`: one line `file:line: Address: field: message`.
"""

from reconciler.expr.compile import Expression, Where, compile_expression
from reconciler.expr.values import known_only, to_cel

__all__ = ["Expression", "Where", "compile_expression", "known_only", "to_cel"]
