"""Instance channel filters (channels.md §7): include/exclude globs where only ``*`` is special."""
from __future__ import annotations

import re
from collections.abc import Sequence


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.DOTALL)


class ChannelFilter:
    """Decides which channel names this instance loads."""

    def __init__(self, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> None:
        self._include = [_glob(p) for p in include]
        self._exclude = [_glob(p) for p in exclude]

    def allows(self, name: str) -> bool:
        if self._include and not any(p.match(name) for p in self._include):
            return False
        return not any(p.match(name) for p in self._exclude)
