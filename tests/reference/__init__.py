"""An independent, brute-force recomputation of every KPI, for comparison with the engine."""
