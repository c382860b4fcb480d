"""`python -m bench --quick` works: every workload runs, every answer is checked, saturation is
searched for, the upstream figures and the table of targets are there. No speed is asserted:
that is the benchmark's job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ("scan", "scan-cold", "citizen", "partner", "analyst50")
SCAN_SOURCES = {"provincial", "national", "hongkong"}
FIGURES = (
    ("floor saturation", "(reference)"),
    ("`scan` saturation, 1 worker, share of the floor", ">= 25 %"),
    ("`scan-cold` upstream requests per client request", "< 0.25"),
    ("`analyst50` upstream requests per query", "1 per source and route"),
    ("`scan` p99 at half saturation", "<= upstream + 5 ms"),
    ("2 workers vs 1", ">= 1.7x"),
    ("hub memory per worker", "< 300 MB"),
    ("10,000 vs 1,000,000-person world", "within 10 %"),
    ("content errors", "0"),
    ("CPU profile of `scan`", "saved with the results"),
)


def test_quick_benchmark_runs_checks_every_answer_and_reports_each_figure(tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    hub = next(r for r in results["runs"] if r["name"] == "hub-1w")
    assert set(hub["workloads"]) == set(WORKLOADS)
    for name, workload in hub["workloads"].items():
        assert workload["saturation"]["ok"] > 0, name
        assert workload["content_errors"] == 0, (name, workload["saturation"]["error_samples"])
        assert workload["open"] and all(p["ok"] > 0 for p in workload["open"]), name
        # saturation is searched for: connections double, and the best step is the one reported
        steps = workload["saturation"]["steps"]
        start = steps[0]["connections"]
        assert [s["connections"] for s in steps] == [start * 2**i for i in range(len(steps))]
        assert workload["saturation"]["throughput"] == max(s["throughput"] for s in steps), name
        # upstream requests per client request, per source route, from the simulators' counters
        counts, sent = workload["upstream_counts"], workload["saturation"]["sent"]
        assert workload["upstream_per_request"] == {
            source: {route: n / sent for route, n in routes.items()}
            for source, routes in counts.items()
        }, name
    # a Zipf workload's phase may be answered from a warm cache alone, but every `scan-cold`
    # request names someone not asked about yet: each source the scan needs is called
    cold = hub["workloads"]["scan-cold"]
    assert SCAN_SOURCES <= set(cold["upstream_counts"]), (
        cold["upstream_counts"],
        cold["saturation"]["steps"],
    )
    floor = next(r for r in results["runs"] if r["name"] == "floor")
    assert floor["workloads"]["floor"]["saturation"]["ok"] > 0
    table = (out / "results.md").read_text()
    assert "## Saturation search" in table
    for name, target in FIGURES:
        row = next((line for line in table.splitlines() if name in line), None)
        assert row is not None and target in row, (name, target)
