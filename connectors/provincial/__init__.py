"""Connector of the Guangdong provincial platform (signed, enveloped, batch look-ups).

The simulator lives in `connectors.provincial.simulator` and is deliberately not exported here:
the hub's serving path must never import it.
"""

from __future__ import annotations

from connectors.provincial.client import ProvincialClient, ProvincialConfig
from connectors.provincial.models import VenueScan, VenueScanAck

__all__ = ["ProvincialClient", "ProvincialConfig", "VenueScan", "VenueScanAck"]
