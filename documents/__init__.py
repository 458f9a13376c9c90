"""Domain of the Passeurs d'images intranet: models, storage, extraction, index, generation.

Nothing in this package imports Flask: every state change is a function taking an
explicit SQLAlchemy session and plain values, shared by the web views, the CLI and tests.
"""
