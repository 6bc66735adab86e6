"""The built-in model files, one TOML file per model (installed as ``dgnsim.equations``).

Read by :mod:`dgnsim.core.models` with :mod:`importlib.resources`; nothing else writes
an equation.
"""
