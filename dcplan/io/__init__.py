"""Readers and writers at the edges: catalogs, YAML, profiles, calibrations."""
