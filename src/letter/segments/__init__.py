"""Segments: FilterSpec, its SQL compiler and in-memory evaluator, saved segments."""
