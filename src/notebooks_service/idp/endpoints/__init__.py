"""HTTP surface of the development IdP (Flask). NOT FOR PRODUCTION."""
