"""`python -m app ...`: the admin command line (see app.cli.main)."""

import sys

from app.cli.main import main

sys.exit(main())
