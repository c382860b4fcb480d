"""The `hub` command: with `__main__`, the only code that reads the environment, starts servers."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from pathlib import Path


def _simulate(args: argparse.Namespace) -> int:
    """Run the four source-system simulators of one seeded world until Ctrl-C."""
    from connectors.sandbox import start_sandbox
    from connectors.world import World

    world = World(seed=args.seed, size=args.size)
    if args.scenarios:
        world.load_scenario_dir(Path(args.scenarios))
        world.mark_initial()
    sandbox = start_sandbox(world, base_port=args.base_port)
    for name, server in sandbox.servers.items():
        print(f"{name:<11} {server.url}  (admin {server.admin_url})", flush=True)
    print(f"{args.size} people, seed {args.seed}; Ctrl-C stops them", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


def _scenarios(args: argparse.Namespace) -> int:
    """Run conformance scenarios through the hub's GraphQL API against the simulators."""
    from hub.conformance import run

    try:
        passed, failed = run(Path(args.directory), out=sys.stdout)
    except FileNotFoundError as exc:
        print(f"hub scenarios: {exc}", file=sys.stderr)
        return 2
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


def _schema(args: argparse.Namespace) -> int:
    """Write the SDL exported from the code (`schema.graphql` is checked against it in tests)."""
    from hub.schema import build_schema

    sdl = build_schema().as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl, encoding="utf-8")
    return 0


def _demo(args: argparse.Namespace) -> int:
    """The simulators, the hub and GraphiQL with examples, until Ctrl-C."""
    from hub.demo import run

    run(size=args.size, seed=args.seed, port=args.port, base_port=args.base_port)
    return 0


def _serve(args: argparse.Namespace) -> int:
    """The hub alone, configured from the environment (HUB_...)."""
    from hub.app import create_app
    from hub.server import serve
    from hub.settings import Settings

    settings = Settings()
    serve(create_app(settings), settings.host, settings.port, settings.drain_s)
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    """Walk the audit hash chain; exit 1 naming the first bad record if it is broken."""
    import asyncio

    from sqlalchemy.exc import SQLAlchemyError

    from hub.audit import verify

    if args.database is not None:
        url = args.database
    else:
        from hub.settings import Settings

        url = Settings().database_url
    try:
        result = asyncio.run(verify(url))
    except (SQLAlchemyError, OSError) as exc:
        # The type only: a driver's message may carry the URL and its password.
        print(f"hub audit verify: cannot read the database ({type(exc).__name__})", file=sys.stderr)
        return 2
    if result.ok:
        print(f"audit chain intact: {result.records} records", flush=True)
        return 0
    where = "" if result.first_bad_seq is None else f" at record {result.first_bad_seq}"
    print(f"audit chain broken{where}: {result.problem}", flush=True)
    return 1


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="hub", description="ghc-hub: the health code data hub")
    commands = root.add_subparsers(dest="command", required=True)

    simulate = commands.add_parser("simulate", help="run the four source-system simulators")
    simulate.add_argument("--seed", type=int, default=1)
    simulate.add_argument("--size", type=int, default=10_000, help="people in the world")
    simulate.add_argument("--base-port", type=int, default=9100, help="simulators on N+1..N+4")
    simulate.add_argument("--scenarios", help="a directory of scenario files to load on top")
    simulate.set_defaults(run=_simulate)

    scenarios = commands.add_parser("scenarios", help="check the hub against scenario files")
    scenarios.add_argument("directory", help="a directory of scenario files (*.json)")
    scenarios.set_defaults(run=_scenarios)

    demo = commands.add_parser("demo", help="simulators, hub and GraphiQL on this machine")
    demo.add_argument("--size", type=int, default=10_000, help="people in the synthetic world")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--port", type=int, default=8000, help="the hub's port")
    demo.add_argument("--base-port", type=int, default=9100, help="simulators on N+1..N+4")
    demo.set_defaults(run=_demo)

    serve = commands.add_parser("serve", help="run the hub (settings from HUB_* variables)")
    serve.set_defaults(run=_serve)

    schema = commands.add_parser("schema", help="export the GraphQL schema (SDL)")
    schema.add_argument("--output", default="schema.graphql", help="a file, or - for stdout")
    schema.set_defaults(run=_schema)

    audit = commands.add_parser("audit", help="the audit log of accesses to personal data")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_verify = audit_commands.add_parser("verify", help="check the audit hash chain")
    audit_verify.add_argument("--database", help="a database URL (default: HUB_DATABASE_URL)")
    audit_verify.set_defaults(run=_audit_verify)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
