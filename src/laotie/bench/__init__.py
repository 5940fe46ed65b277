"""Benchmarks: a throwaway server on one core, a load generator on the other, one JSON answer."""
