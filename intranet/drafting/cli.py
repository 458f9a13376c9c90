"""``intranet`` commands of the drafting feature."""

from __future__ import annotations

from typing import Any

#: Click commands added to the ``intranet`` group.
COMMANDS: list[Any] = []
