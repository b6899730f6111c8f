"""The scalar path's run-time helpers (``runtime.py``)."""
