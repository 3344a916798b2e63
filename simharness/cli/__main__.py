"""`python -m simharness.cli ...` is the `simharness` command."""

import sys

from . import main

sys.exit(main())
