"""Shared test configuration: everything the tests talk to is on loopback."""
