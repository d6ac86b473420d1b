"""`python -m notebooks_service.services.jwt`: run the JWT service under the hub."""

from notebooks_service.services.jwt.main import main

if __name__ == "__main__":
    raise SystemExit(main())
