"""Test helpers for the engine: a real loopback content server that injects faults."""
