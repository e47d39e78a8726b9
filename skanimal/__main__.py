"""``python -m skanimal`` is the ``skanimal`` command."""

import sys

from .cli import main

sys.exit(main())
