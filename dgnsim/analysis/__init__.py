"""Analyses: pure functions that take Brian2 quantities or arrays and return small records."""
