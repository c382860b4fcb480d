"""`hub serve`: uvicorn with a drain on SIGTERM.

On the first SIGTERM (or Ctrl-C) the hub reports not ready at once (`/readyz` 503) so a load
balancer stops sending it requests, keeps serving for `drain_s`, then stops accepting, lets
in-flight requests finish (uvicorn's graceful shutdown), closes the sources' sessions and the
database in the lifespan, and exits with status 0. A second signal stops it at once.
"""

from __future__ import annotations

import asyncio
import logging
from types import FrameType

import uvicorn
from starlette.applications import Starlette

log = logging.getLogger("hub.server")


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: Starlette, drain_s: float) -> None:
        super().__init__(config)
        self._app = app
        self._drain_s = drain_s
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)  # type: ignore[arg-type]

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Not uvicorn's own handler: that one re-raises the signal after shutting down, and
        # the process would then end by SIGTERM instead of with status 0.
        if self._app.state.draining or self._drain_s <= 0 or self._loop is None:
            self._stop()
            return
        self._app.state.draining = True
        log.warning("signal %s: not ready; serving %.1f s more, then stopping", sig, self._drain_s)
        self._loop.call_soon_threadsafe(self._loop.call_later, self._drain_s, self._stop)

    def _stop(self) -> None:
        if self.should_exit:
            self.force_exit = True  # a second signal: stop without waiting
        self.should_exit = True


def serve(app: Starlette, host: str, port: int, drain_s: float, grace_s: float = 10.0) -> None:
    config = uvicorn.Config(
        app, host=host, port=port, log_level="info", timeout_graceful_shutdown=int(grace_s)
    )
    asyncio.run(DrainingServer(config, app, drain_s).serve())
