"""Every op's torch counterpart (bpviz.oracle.rules.base), registered on import.

`rule_for(op_name)` is the rule of one op; `handlers()` the import handlers of
every rule and of the calls that add no node; `supported_text()` what
`bpviz import-torch` carries over, for its help and its refusals.
"""

from __future__ import annotations

from typing import Any

from bpviz.oracle.rules import (  # each registers its rules into base.RULES
    activations,  # noqa: F401
    basic,  # noqa: F401
    conv,  # noqa: F401
    losses,  # noqa: F401
    merge,  # noqa: F401
    norm,  # noqa: F401
    pool,  # noqa: F401
)
from bpviz.oracle.rules.base import RULES, OracleError, TorchRule, torch_rule

__all__ = ["RULES", "OracleError", "TorchRule", "handlers", "rule_for", "supported_text",
           "torch_rule"]


def rule_for(op_name: str) -> TorchRule:
    """The torch rule of an op; OracleError names the op when there is none."""
    try:
        return RULES[op_name]
    except KeyError:
        known = ", ".join(sorted(RULES))
        raise OracleError(f"no torch reference for op '{op_name}' (known: {known})") from None


def handlers() -> tuple[dict[type, Any], dict[Any, Any], dict[str, Any]]:
    """(nn module class, function, tensor method name) → import handler."""
    from bpviz.oracle import import_rules as generic

    modules, functions, methods = (dict(generic.MODULE_RULES), dict(generic.FUNCTION_RULES),
                                   dict(generic.METHOD_RULES))
    for rule in RULES.values():
        modules.update(rule.modules)
        functions.update(rule.functions)
        methods.update(rule.methods)
    return modules, functions, methods


def supported_text() -> str:
    """What import-torch carries over, the ops in the op reference's order:
    "modules nn.Linear, …; in forward: torch.relu, …"."""
    from bpviz.engine import OPS
    from bpviz.graph.reference import FAMILY_ORDER
    from bpviz.oracle import import_rules as generic

    order = sorted(RULES, key=lambda name: FAMILY_ORDER.index(OPS[name].family)
                   if name in OPS and OPS[name].family in FAMILY_ORDER else len(FAMILY_ORDER))
    modules = [RULES[name].supported[0] for name in order] + [generic.SUPPORTED]
    calls = [RULES[name].supported[1] for name in order]
    return (f"modules {', '.join(filter(None, modules))}; "
            f"in forward: {', '.join(filter(None, calls))}")
