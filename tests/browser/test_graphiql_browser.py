"""A person opens the demo's GraphiQL in a real browser, runs VenueScan and sees a colour.

Headless Debian Chromium, driven by playwright-core from graphiql.mjs beside this file.
`make test` (via `make browser-deps`) installs Chromium and tests/browser/node_modules.
Without them this test fails, saying what is missing; HUB_SKIP_BROWSER=1 skips it on purpose.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.hub.test_demo import demo  # noqa: F401 (the fixture: `hub demo` as a subprocess)

HERE = Path(__file__).parent
CHROMIUM = os.environ.get("HUB_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    os.environ.get("HUB_SKIP_BROWSER") == "1", reason="HUB_SKIP_BROWSER=1"
)


def missing() -> list[str]:
    """What the browser test needs and this machine lacks."""
    lacks = []
    if not Path(CHROMIUM).exists():
        lacks.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    if shutil.which("node") is None:
        lacks.append("node on PATH")
    for package in ("playwright-core", "graphiql", "react", "react-dom"):
        if not (HERE / "node_modules" / package / "package.json").exists():
            lacks.append(f"tests/browser/node_modules/{package} (npm ci in tests/browser)")
    return lacks


@pytest.fixture
def browser() -> None:
    """Fails, saying what to install, before the demo starts for nothing."""
    lacks = missing()
    if lacks:
        pytest.fail(
            "the browser test needs " + "; ".join(lacks)
            + ". Run `make browser-deps` (or set HUB_SKIP_BROWSER=1 to skip it on purpose).",
            pytrace=False,
        )  # fmt: skip


def test_a_person_runs_venue_scan_in_graphiql_and_sees_the_colour(
    browser: None,
    demo: tuple[subprocess.Popen[str], str, int],  # noqa: F811
    tmp_path: Path,
) -> None:
    _, banner, port = demo
    url = f"http://127.0.0.1:{port}/graphql"
    screenshot = tmp_path / "graphiql-venue-scan.png"
    run = subprocess.run(
        ["node", str(HERE / "graphiql.mjs"), url, str(screenshot), "VenueScan"],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert run.stdout.strip(), (
        f"graphiql.mjs printed nothing (exit {run.returncode}):\n{run.stderr}"
    )
    report = json.loads(run.stdout)
    assert run.returncode == 0, json.dumps(report["problems"], indent=2, ensure_ascii=False)

    # The page's seven CDN files came from tests/browser/node_modules, Chromium accepted their
    # integrity hashes (or the page would not have run), and nothing else left loopback.
    assert len(report["served"]) == 7, report["served"]
    assert report["refused"] == []
    # The editor opened on the demo's examples, not strawberry's welcome text.
    assert report["editorFirstLine"].startswith("# ghc-hub demo")
    assert {"CitizenPage", "VenueScan", "PartnerRecognition"} <= set(report["operations"])
    # VenueScan scans the green sample the banner lists, and the result pane shows GREEN.
    assert "green code" in banner
    assert report["colour"] == "GREEN", report["result"]
    assert '"colour": "GREEN"' in report["resultPaneText"]
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")
