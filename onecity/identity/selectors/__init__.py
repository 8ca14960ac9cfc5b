"""Reads of the identity app, one module per topic."""
