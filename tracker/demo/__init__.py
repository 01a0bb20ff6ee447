"""Demonstration and synthetic data: the demo team with a few stories
(``team``), and years of activity at network scale for trying the tool at size
and for the benchmark (``synthetic``).

Both write what the product would have written: the small demo through the
services, the bulk generator row by row but through the same rules (quorum,
status transitions, the retreatment verdict, the techniques' settings).
"""
