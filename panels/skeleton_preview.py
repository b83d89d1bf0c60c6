"""Placeholder: filled in by its feature."""
PANELS = []
