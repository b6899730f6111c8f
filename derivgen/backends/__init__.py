"""Code that generated modules run: each backend's run-time helpers, as plain Python.

``numpy/runtime.py`` holds the helpers of the NumPy path, ``scalar/runtime.py`` those of
the scalar path (Python floats and ``math``). Both import and run on their own, so the
helpers are linted and unit-tested where they live; :mod:`derivgen.backends.definitions`
copies the ones a module calls into its text, under that module's names.
"""
