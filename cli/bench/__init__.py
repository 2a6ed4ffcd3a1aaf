"""``scorecard bench``: throughput, latency, memory and recovery against baselines
measured in the same run (docs/benchmarks.md). The command lives in ``command.py``; each
measurement in its own module."""
