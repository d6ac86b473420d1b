"""`python -m notebooks_service.services.credits`: run the credits service under the hub."""

from notebooks_service.services.credits.app import main

if __name__ == "__main__":
    raise SystemExit(main())
