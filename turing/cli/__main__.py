"""``python -m turing.cli``: the same as the ``turing`` console script."""

import sys

from turing.cli import main

sys.exit(main())
