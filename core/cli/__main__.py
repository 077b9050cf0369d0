"""`python -m core.cli` runs the `concierge` command."""

import sys

from core.cli import main

sys.exit(main())
