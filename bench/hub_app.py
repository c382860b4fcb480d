"""An importable ASGI app for `uvicorn bench.hub_app:app --workers N` (the benchmark only).

Each uvicorn worker imports this module and builds its own hub from the HUB_* environment,
exactly as `hub serve` does.
"""

from hub.app import create_app
from hub.settings import Settings

app = create_app(Settings())
