"""Fit the performance model to measurements: profiles (per device) and published runs (at scale)."""
