"""The analytical performance model: pure functions of specs (no I/O, no torch)."""
