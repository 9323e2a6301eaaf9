"""A delay after wrong passwords, for the doors that take an account's password (SheepIt, Cinnamon): counted per
account and per client address, in bounded memory. Nothing waits on the event loop: while an account or an
address is held back, its login attempts are refused at once, their password not even checked."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

FREE = 2
"""Wrong passwords of an account or address that cost no delay (a typo or two)."""
FIRST = 1.0
"""Seconds held back after the first wrong password past the free ones; each one more doubles it."""
LONGEST = 60.0
FORGOTTEN = 900.0
"""Seconds after its last wrong password that an account or address starts afresh."""
MAX_KEYS = 4096
"""Accounts and addresses remembered at most (the least recently wrong are forgotten first)."""


@dataclass
class _Wrong:
    count: int
    last: float
    until: float


class Throttle:
    def __init__(self) -> None:
        self._wrong: OrderedDict[str, _Wrong] = OrderedDict()

    @staticmethod
    def _keys(account: str | None, address: str) -> list[str]:
        """The address always; the account only when it exists (names that do not cannot crowd out real ones)."""
        return [f"address {address}", *([f"account {account}"] if account is not None else [])]

    def held_back(self, account: str | None, address: str) -> float:
        """Seconds before this account or address may try again; 0 when it may now."""
        now = time.monotonic()
        return max([0.0, *(found.until - now for key in self._keys(account, address)
                           if (found := self._wrong.get(key)) is not None)])

    def wrong(self, account: str | None, address: str) -> None:
        """A wrong password: the account and address are held back once past the free ones."""
        now = time.monotonic()
        for key in self._keys(account, address):
            found = self._wrong.pop(key, None)
            count = 1 if found is None or now - found.last > FORGOTTEN else found.count + 1
            delay = 0.0 if count <= FREE else min(FIRST * 2 ** (count - FREE - 1), LONGEST)
            self._wrong[key] = _Wrong(count, now, now + delay)
            while len(self._wrong) > MAX_KEYS:
                self._wrong.popitem(last=False)

    def right(self, account: str, address: str) -> None:
        """The right password: the account and address start afresh."""
        for key in self._keys(account, address):
            self._wrong.pop(key, None)
