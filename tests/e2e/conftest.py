"""End-to-end fixtures: ``live_server``, ``browser`` and ``page`` (see ``e2e/browser.py``)."""

from e2e.browser import browser, live_server, page  # noqa: F401  (fixtures shared by every e2e test)
