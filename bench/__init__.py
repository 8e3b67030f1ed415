"""Benchmarks behind `make bench`; results go to BENCHMARKS.md with the command and machine."""
