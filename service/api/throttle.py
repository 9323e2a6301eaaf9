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
MAX_ADDRESSES = 4096
"""Addresses remembered at most (the least recently wrong are forgotten first). Accounts are remembered apart,
only those that exist, so that no flood of addresses makes the service forget an account being guessed at."""
MAX_KNOWN = 16
"""Addresses an account last logged in from that its own hold does not hold back (each is held back still for
its own wrong passwords): a guesser elsewhere cannot keep the account's clients out."""


@dataclass
class _Wrong:
    count: int
    last: float
    until: float

    def again(self, now: float) -> _Wrong:
        count = 1 if now - self.last > FORGOTTEN else self.count + 1
        return _Wrong(count, now, now + (0.0 if count <= FREE else min(FIRST * 2 ** (count - FREE - 1), LONGEST)))


NEVER = _Wrong(0, float("-inf"), float("-inf"))


class Throttle:
    def __init__(self) -> None:
        self._addresses: OrderedDict[str, _Wrong] = OrderedDict()
        self._accounts: dict[str, _Wrong] = {}
        self._known: dict[str, OrderedDict[str, None]] = {}
        """Per account, the addresses it logged in from, least recent first."""

    def held_back(self, account: str | None, address: str) -> float:
        """Seconds before this account or address may try again; 0 when it may now. An address is held back
        whatever account it names; an account (only one that exists) from any address it did not log in from."""
        now = time.monotonic()
        found = [self._addresses.get(address, NEVER)]
        if account is not None and address not in self._known.get(account, {}):
            found.append(self._accounts.get(account, NEVER))
        return max(0.0, *(wrong.until - now for wrong in found))

    def wrong(self, account: str | None, address: str) -> None:
        """A wrong password: the account (None: no such account) and address are held back once past the free
        ones."""
        now = time.monotonic()
        self._addresses[address] = self._addresses.pop(address, NEVER).again(now)
        while len(self._addresses) > MAX_ADDRESSES:
            self._addresses.popitem(last=False)
        if account is not None:
            self._accounts[account] = self._accounts.get(account, NEVER).again(now)

    def right(self, account: str, address: str) -> None:
        """The right password: the account and address start afresh, and the address is one of the account's."""
        self._addresses.pop(address, None)
        self._accounts.pop(account, None)
        known = self._known.setdefault(account, OrderedDict())
        known[address] = None
        known.move_to_end(address)
        while len(known) > MAX_KNOWN:
            known.popitem(last=False)
