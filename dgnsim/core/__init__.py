"""The core: model files, units, the ``sequential`` integration method and model expressions.

Nothing here imports Brian2 objects that run, torch, or any other part of dgnsim.
"""
