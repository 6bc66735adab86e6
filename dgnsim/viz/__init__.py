"""Shared plotting: figure saving (PDF and PNG, atomically), rasters and bar charts."""
