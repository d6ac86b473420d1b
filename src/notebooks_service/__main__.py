"""`python -m notebooks_service` is the `notebooks` command."""

import sys

from notebooks_service.cli import main

sys.exit(main())
