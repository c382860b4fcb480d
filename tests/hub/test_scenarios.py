"""`hub scenarios DIR`: every conformance scenario through the GraphQL API against the simulators."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hub.cli import main
from tests.hub.conftest import SCENARIOS


def test_every_packaged_scenario_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios", str(SCENARIOS)]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == f"{len(list(SCENARIOS.glob('*.json')))} passed, 0 failed"


def test_a_wrong_expectation_is_reported_with_the_difference_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("03-close-contact-red.json", "01-green-no-facts.json"):
        shutil.copy(SCENARIOS / name, tmp_path / name)
    wrong = json.loads((tmp_path / "03-close-contact-red.json").read_text(encoding="utf-8"))
    wrong["expect"]["colour"] = "YELLOW"
    wrong["expect"]["validUntil"] = "2022-07-08T21:00:00+08:00"
    (tmp_path / "03-close-contact-red.json").write_text(json.dumps(wrong), encoding="utf-8")

    assert main(["scenarios", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == "1 passed, 1 failed"
    (failure,) = [line for line in lines if line.startswith("FAIL")]
    assert "close-contact-red" in failure
    assert "colour: expected YELLOW, got RED" in failure
    assert (
        "validUntil: expected 2022-07-08T21:00:00+08:00, got 2022-07-08T20:00:00+08:00" in failure
    )


def test_an_empty_directory_is_an_error_not_a_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scenarios", str(tmp_path)]) == 2
    assert "no scenario files" in capsys.readouterr().err
