"""Benchmarks: each compares shortgen with a baseline in the same run and prints ratios.

Run all with ``python -m benchmarks`` (or one: ``python -m benchmarks post``). Tests never time things.
"""
