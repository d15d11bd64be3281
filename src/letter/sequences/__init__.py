"""Sequences: automated email flows, from an editable draft to immutable
published versions, and the engine that enrols contacts and runs each step."""
