"""oortgate's benchmark harness: peers, load generator, machine limits and reports.

Run it with ``make bench`` / ``make bench-quick`` or ``python -m bench.run --help``.
"""
