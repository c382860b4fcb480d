"""schema.graphql is the SDL exported from the code; it must not drift."""

from __future__ import annotations

from pathlib import Path

from hub.schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_matches_the_code() -> None:
    exported = build_schema().as_str() + "\n"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == exported, "run `hub schema` to re-export"
