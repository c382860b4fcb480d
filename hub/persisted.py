"""Registered (persisted) operations: the only documents frontends and partners may run.

Each `hub/operations/*.graphql` file holds one operation; it is identified by the SHA-256 of
its text, sent as `{"extensions": {"persistedQuery": {"sha256Hash": "…"}}}` (the Apollo
convention) or `{"documentId": "sha256:…"}`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGED = Path(__file__).parent / "operations"


@dataclass(frozen=True)
class Operation:
    name: str
    sha256: str
    text: str


class PersistedOperations:
    def __init__(self, operations: list[Operation]) -> None:
        self._by_hash = {op.sha256: op for op in operations}
        self.by_name = {op.name: op for op in operations}

    @classmethod
    def from_dir(cls, directory: Path = PACKAGED) -> PersistedOperations:
        operations = []
        for path in sorted(directory.glob("*.graphql")):
            text = path.read_text(encoding="utf-8")
            digest = hashlib.sha256(text.encode()).hexdigest()
            operations.append(Operation(path.stem, digest, text))
        return cls(operations)

    def find(self, sha256: str) -> Operation | None:
        return self._by_hash.get(sha256)


def requested_hash(body: Mapping[str, Any]) -> str | None:
    """The hash a request names, if it names one."""
    document_id = body.get("documentId")
    if isinstance(document_id, str):
        return document_id.removeprefix("sha256:")
    extensions = body.get("extensions")
    if isinstance(extensions, dict):
        persisted = extensions.get("persistedQuery")
        if isinstance(persisted, dict) and isinstance(persisted.get("sha256Hash"), str):
            return str(persisted["sha256Hash"])
    return None
