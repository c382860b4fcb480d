"""Connectors to the source systems the hub federates, and their simulators.

This package never imports `hub`: a connector is usable and testable on its own.
"""
