"""``python -m derivgen``: the same as the ``derivgen`` command."""

import sys

from .cli import main

sys.exit(main())
