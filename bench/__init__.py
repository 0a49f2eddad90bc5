"""Benchmarks, run by `make bench`; never part of `make test` (they time things, not check them)."""
