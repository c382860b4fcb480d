"""The results: a JSON file, a Markdown table (the figures with their targets, pass/fail), a
PNG plot of latency percentiles against offered rate (when matplotlib is installed), and a
summary of the CPU profile."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any


def profile_summary(path: Path, top: int = 15) -> dict[str, Any]:
    """Self and inclusive sample shares from a py-spy speedscope file (all processes)."""
    data = json.loads(path.read_text())
    frames = data["shared"]["frames"]
    self_count: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    main_modules: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0.0
    main_total = 0.0
    count = 0
    for profile in data["profiles"]:
        thread = profile.get("name", "?")
        # 'Thread 565 "Thread-163 (_connection_worker_thread)"' -> '_connection_worker_thread'
        label = thread.split("(")[-1].rstrip(')"') if "(" in thread else thread.split('"')[-2]
        is_main = "MainThread" in thread
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            if not stack:
                continue
            total += weight
            count += 1
            threads[label] += weight
            if is_main:
                main_total += weight
                main_modules[_module(frames[stack[-1]])] += weight
            names = [_frame(frames[i]) for i in stack]
            self_count[names[-1]] += weight
            for name in set(names):
                inclusive[name] += weight
            modules[_module(frames[stack[-1]])] += weight
    share = (lambda n: round(100 * n / total, 1)) if total else (lambda n: 0.0)
    return {
        "samples": count,
        "self": [(name, share(n)) for name, n in self_count.most_common(top)],
        "inclusive": [
            (name, share(n)) for name, n in inclusive.most_common(top * 3) if "<module>" not in name
        ][: top * 2],
        "self_by_package": [(name, share(n)) for name, n in modules.most_common(top)],
        "by_thread": [(name, share(n)) for name, n in threads.most_common(top)],
        "thread_count": len(data["profiles"]),
        "main_thread_self_by_package": [
            (name, round(100 * n / main_total, 1) if main_total else 0.0)
            for name, n in main_modules.most_common(top)
        ],
    }


def _frame(frame: dict[str, Any]) -> str:
    file = str(frame.get("file", ""))
    short = file.split("site-packages/")[-1].split("/work/main/")[-1]
    return f"{frame.get('name')} ({short}:{frame.get('line', '')})"


def _module(frame: dict[str, Any]) -> str:
    """The package a frame's code belongs to (hub.endpoint, graphql, asyncio, ...)."""
    file = str(frame.get("file", ""))
    if "site-packages/" in file:
        return file.split("site-packages/")[-1].split("/")[0]
    if "/work/main/" in file:
        parts = file.split("/work/main/")[-1].removesuffix(".py").split("/")
        return ".".join(parts[:2])
    if "/lib/python" in file:
        return "stdlib:" + file.split("/lib/python")[-1].split("/", 2)[-1].split("/")[0]
    return file or "?"


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def markdown(results: dict[str, Any]) -> str:
    cfg = results["config"]
    lines = [
        f"# ghc-hub benchmark — {results['started']}",
        "",
        f"World {cfg['size']:,} people (seed {cfg['seed']}); "
        f"upstream latency {cfg['latency_ms']} ms"
        f" + uniform jitter 0–{cfg['jitter_ms']} ms; closed loop from {cfg['connections']}"
        f" connections, doubled up to {cfg.get('max_connections', cfg['connections'])} while"
        " throughput rose 5 % or more (`analyst50`: a quarter of the first, not doubled),"
        f" {cfg['duration']} s per phase ({cfg['warmup']} s warm-up not counted); open-loop phases"
        f" {cfg['open_duration']} s at {', '.join(f'{f:.0%}' for f in cfg['fractions'])} of each"
        f" workload's saturation; {cfg['cpus']} CPUs; quick={cfg['quick']}.",
        "",
        "## Figures",
        "",
        "| figure | measured | target | result |",
        "|---|---|---|---|",
    ]
    for fig in results["figures"]:
        verdict = {True: "PASS", False: "FAIL", None: "—"}[fig["pass"]]
        lines.append(f"| {fig['name']} | {fig['measured']} | {fig['target']} | {verdict} |")
    lines += [
        "",
        "## Workloads",
        "",
        "| run | workload | saturation (correct answers/s) | hub CPU ms/request | "
        "content errors | CPU cores: hub / simulators / generator / other / machine busy | "
        "upstream requests per client request |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        for name, w in run["workloads"].items():
            sat = w["saturation"]
            upstream = (
                ", ".join(
                    f"{src} {route} {ratio:.3f}"
                    for src, routes in sorted(w.get("upstream_per_request", {}).items())
                    for route, ratio in sorted(routes.items())
                )
                or "—"
            )
            flag = " ⚠ load-generator bound" if sat.get("generator_bound") else ""
            cores = " / ".join(
                _fmt(sat.get(key), 2)
                for key in (
                    "hub_cpu_cores",
                    "simulators_cpu_cores",
                    "generator_cpu",
                    "foreign_cpu_cores",
                    "machine_busy_cores",
                )
            )
            lines.append(
                f"| {run['name']} | {name} | {_fmt(sat['throughput'])}{flag} | "
                f"{_fmt(sat.get('hub_cpu_ms_per_request'), 2)} | {w['content_errors']} | "
                f"{cores} | {upstream} |"
            )
    lines += [
        "",
        "## Saturation search (closed loop; the best step is the saturation)",
        "",
        "| run | workload | connections: correct answers/s (p99 ms, hub CPU ms/request) |",
        "|---|---|---|",
    ]
    for run in results["runs"]:
        for name, w in run["workloads"].items():
            steps = "; ".join(
                f"{s['connections']}: {_fmt(s['throughput'], 0)} ({_fmt(s['p99_ms'], 1)}, "
                f"{_fmt(s.get('hub_cpu_ms_per_request'), 2)})"
                for s in w["saturation"].get("steps", [])
            )
            lines.append(f"| {run['name']} | {name} | {steps or '—'} |")
    lines += [
        "",
        "## Latency against offered rate (open loop, from intended send time)",
        "",
        "| run | workload | offered req/s | achieved correct/s | p50 ms | p90 ms | p99 ms | "
        "max ms | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        for name, w in run["workloads"].items():
            for p in w["open"]:
                lines.append(
                    f"| {run['name']} | {name} | {_fmt(p['offered'])} | {_fmt(p['throughput'])} |"
                    f" {_fmt(p['p50_ms'], 2)} | {_fmt(p['p90_ms'], 2)} | {_fmt(p['p99_ms'], 2)} |"
                    f" {_fmt(p['max_ms'], 2)} | {p['errors']} |"
                )
    memory = [(r["name"], r.get("memory")) for r in results["runs"] if r.get("memory")]
    if memory:
        lines += ["", "## Memory (VmRSS per serving process)", ""]
        for name, mem in memory:
            lines.append(
                f"- {name}: max {_fmt(mem['max_mb_per_worker'])} MB per worker over "
                f"{_fmt(mem['seconds'])} s ({mem['samples']} samples); at the end "
                f"{mem['last_mb_per_worker']} MB"
            )
    prof = results.get("profile")
    if prof and prof.get("summary"):
        summary = prof["summary"]
        lines += [
            "",
            f"## CPU profile of `scan` (py-spy, {summary['samples']} samples): `{prof['file']}`",
            "",
            f"Samples by thread ({summary.get('thread_count')} threads seen):",
            "",
        ]
        lines += [f"- {name}: {share} %" for name, share in summary.get("by_thread", [])]
        lines += ["", "Event-loop thread only, self time by package:", ""]
        lines += [
            f"- {name}: {share} %" for name, share in summary.get("main_thread_self_by_package", [])
        ]
        lines += ["", "All threads, self time by package:", ""]
        lines += [f"- {name}: {share} %" for name, share in summary["self_by_package"]]
        lines += ["", "Inclusive time (top frames):", ""]
        lines += [f"- {name}: {share} %" for name, share in summary["inclusive"]]
        lines += ["", "Self time (top frames):", ""]
        lines += [f"- {name}: {share} %" for name, share in summary["self"]]
    elif prof:
        lines += ["", f"## CPU profile: not taken ({prof.get('error')})"]
    if results.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in results["notes"]]
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], out: Path) -> str | None:
    """latency.png: p50/p99 against offered rate per workload; None, or why it was not drawn."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no PNG plot (the Markdown table has the numbers)"
    series = [
        (f"{run['name']} {name}", w["open"])
        for run in results["runs"]
        for name, w in run["workloads"].items()
        if w["open"]
    ]
    fig, axes = plt.subplots(1, len(series), figsize=(4 * len(series), 3.6), squeeze=False)
    for ax, (label, points) in zip(axes[0], series, strict=True):
        rates = [p["offered"] for p in points]
        for key, style in (("p50_ms", "o-"), ("p90_ms", "s--"), ("p99_ms", "^-")):
            ax.plot(rates, [p[key] for p in points], style, label=key.removesuffix("_ms"))
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("offered req/s")
        ax.set_ylabel("latency ms (from intended send)")
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


def write(results: dict[str, Any], directory: Path) -> None:
    problem = plot(results, directory / "latency.png")
    if problem:
        results.setdefault("notes", []).append(problem)
    else:
        results["plot"] = "latency.png"
    (directory / "results.json").write_text(json.dumps(results, indent=1, default=str))
    (directory / "results.md").write_text(markdown(results))
