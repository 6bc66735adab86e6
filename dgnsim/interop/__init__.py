"""Bridges between trained surrogate networks, Brian2 and NIR."""
