"""Connector to the Hong Kong systems (HK health code, cross-boundary goods vehicle drivers).

The simulator is deliberately not exported: the hub's serving path never imports it.
"""

from __future__ import annotations

from connectors.hongkong.client import DriverNotActive, HongKongClient, HongKongConfig
from connectors.hongkong.translate import DeclarationPage, DeclarationReceipt

__all__ = [
    "DeclarationPage",
    "DeclarationReceipt",
    "DriverNotActive",
    "HongKongClient",
    "HongKongConfig",
]
