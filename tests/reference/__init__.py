"""An independent, brute-force recomputation of every KPI (``model``) and of the appeals of contract §10
(``disputes``), for comparison with the engine."""
