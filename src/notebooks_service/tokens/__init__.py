"""The user's OIDC tokens inside their servers.

Pieces, each in its own module: the spawn option (`mount_option`), where token files live (`sink`), the
spawner mixin that delivers and withdraws them (`delivery`), the hub-side background refresher
(`refresher`), the sharing guard (`exposure`), the token-release service (`release`), and the hub
configuration tying them together (`hub`). See docs/tokens.md.
"""
