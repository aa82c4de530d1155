"""Benchmarks run by `make bench`; each module has a `main()` and records its results in docs/benchmarks.md."""
