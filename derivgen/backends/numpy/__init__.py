"""The NumPy path's run-time helpers (``runtime.py``)."""
