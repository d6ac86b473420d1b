from notebooks_service.tokens.release.app import main

main()
