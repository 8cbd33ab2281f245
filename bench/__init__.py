"""Benchmark of the list endpoint: run with `make bench` (see README.md)."""
