"""The hub's vocabulary and pure logic: no I/O, no clock reads, no async."""
