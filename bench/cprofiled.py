"""The fallback profiler when py-spy is missing: run uvicorn under cProfile, one .prof per
process in BENCH_CPROFILE_DIR (written when the process stops)."""

from __future__ import annotations

import cProfile
import os
import sys


def main() -> None:
    out = os.environ["BENCH_CPROFILE_DIR"]
    profiler = cProfile.Profile()
    sys.argv = ["uvicorn", *sys.argv[1:]]
    from uvicorn.main import main as uvicorn_main

    profiler.enable()
    try:
        uvicorn_main()
    except SystemExit:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(os.path.join(out, f"hub-{os.getpid()}.prof"))


if __name__ == "__main__":
    main()
