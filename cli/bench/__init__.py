"""``scorecard bench``: throughput, latency, memory and recovery against baselines
measured in the same run (issue #8). The command lives in ``command.py``; each
measurement in its own module."""
