"""JSON Schemas of the corpus spec and the manifest (package data)."""
