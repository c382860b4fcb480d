"""What a query selected under a field, looking through fragments."""

from __future__ import annotations

from typing import Any

from strawberry.types.nodes import SelectedField


def selected_names(selections: list[Any]) -> set[str]:
    """Field names selected directly on an object."""
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, SelectedField):
            names.add(selection.name)
        else:  # a fragment spread or inline fragment carries its own selections
            names |= selected_names(selection.selections)
    return names


def selected_paths(selections: list[Any], prefix: str = "") -> set[str]:
    """Dotted paths of every leaf field selected (`healthCode.colour`): what an audit record
    says was returned."""
    paths: set[str] = set()
    for selection in selections:
        if isinstance(selection, SelectedField):
            path = f"{prefix}{selection.name}"
            if selection.selections:
                paths |= selected_paths(selection.selections, path + ".")
            else:
                paths.add(path)
        else:
            paths |= selected_paths(selection.selections, prefix)
    return paths
