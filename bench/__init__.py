"""The benchmark suite: `python -m bench [--size tiny|full] [--only NAME]` (see bench/run.py)."""
