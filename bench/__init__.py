"""The hub's benchmark: `python -m bench` (see README, "Performance").

Processes: four simulators, the hub (or the floor), and a load generator, each its own process.
Nothing in the hub imports this package.
"""
