"""National integrated government service platform: risk areas, trips, cross-province flags.

Only the connector is exported; the simulator (`connectors.national.simulator`) is imported
by tests and the standalone runner, never by the hub's serving path.
"""

from __future__ import annotations

from connectors.national.client import NationalClient, NationalConfig, RiskAreaSync

__all__ = ["NationalClient", "NationalConfig", "RiskAreaSync"]
