"""`python -m notebooks_service.tokens.release`: run the token release service under the hub."""

from notebooks_service.tokens.release.app import main

if __name__ == "__main__":
    raise SystemExit(main())
