"""Benchmarks: one module per benchmark, each runnable alone (`python -m bench.<name>`),
printing one JSON object per line with name, value, unit and a ratio against a baseline
measured in the same run."""
