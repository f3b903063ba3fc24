"""Benchmarks: ``python -m convnp.bench ops|train|peers``. They print JSON lines; tests never
time anything. See docs/performance.md for results and the commands that produced them."""
