"""``python -m lib.cli``: the command line (see ``lib/cli/__init__.py``)."""

import sys

from lib.cli import main

sys.exit(main())
