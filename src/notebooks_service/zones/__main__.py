"""`python -m notebooks_service.zones`: the zone directory service (the hub runs it)."""

from notebooks_service.zones.app import main

raise SystemExit(main())
