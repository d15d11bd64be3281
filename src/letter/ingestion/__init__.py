"""Ingestion: identify, track, group and batch from a project's backend."""
