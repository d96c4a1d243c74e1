"""Groups for an imported graph, from the torch module hierarchy.

Every node made from an fx node joins the group named by the module path of
the innermost module it was called from that is not a mere container
(nn.Sequential, nn.ModuleList, nn.ModuleDict): in torchvision's ResNet-50
`layer1.0.conv1`, `layer1.0.downsample.0` and the block's residual `add` all
join "layer1.0". A layer called only from the containers gets the innermost
container ("features" for VGG's `features.3`); one called by the root model
itself gets none. bpviz groups have one level, so "layer1.0" is not nested
in "layer1".
"""

from __future__ import annotations

from typing import Any

from torch import fx, nn

from bpviz.graph import GraphDocument
from bpviz.graph.document import GroupData

CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _is_container(cls: Any) -> bool:
    if isinstance(cls, type):
        return issubclass(cls, CONTAINERS)
    return str(cls).rsplit(".", 1)[-1].rstrip("'>") in {c.__name__ for c in CONTAINERS}


def module_group(node: fx.Node) -> str | None:
    """The group of what `node` becomes, or None for a layer of the root model."""
    stack = node.meta.get("nn_module_stack") or {}
    entries = [entry for entry in stack.values() if isinstance(entry, tuple) and entry]
    if node.op == "call_module" and entries and entries[-1][0] == node.target:
        entries = entries[:-1]  # the layer itself
    entries = [entry for entry in entries if entry[0]]
    if not entries:
        return None
    for path, cls in reversed(entries):
        if not _is_container(cls):
            return path
    return entries[-1][0]


def assign(doc: GraphDocument, new_ids: list[str], node: fx.Node) -> None:
    """Put the nodes made from `node` into its group (declared when first used)."""
    name = module_group(node)
    if name is None or not new_ids:
        return
    name = name[:64]
    doc.groups.setdefault(name, GroupData(name))
    for node_id in new_ids:
        doc.nodes[node_id].group = name
