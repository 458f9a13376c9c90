"""Background processes started beside the web workers by ``make run``.

Each feature that needs one appends to ``intranet.serve.COMPANIONS`` here.
"""

from __future__ import annotations
