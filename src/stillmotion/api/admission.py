"""What a create may hold at once, in this API process: a place under its key's cap of unfinished jobs, a network
slot (image download, callback check or handshake), and a share of the decode budget.

Each kind of blocking work runs on threads of its own limiter, never on the shared pool that serves `/healthz`,
polls and every other synchronous route, so 40 image URLs that trickle a byte a second cannot make anyone else
wait. The counters are changed only on the event loop, with no `await` between a check and its update, so they
need no lock.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
import anyio.to_thread

from stillmotion.api.limits import UNFINISHED_RETRY_AFTER_S, unfinished_jobs_exceeded
from stillmotion.config import Settings
from stillmotion.domain import QueueFull
from stillmotion.domain.errors import RateLimited

T = TypeVar("T")

# Body parsing is short CPU work (its limits bound it); a few threads keep a burst of large bodies from taking more.
PARSE_THREADS = 4
# After a decode this large, memory the allocator kept is handed back to the system (see `_return_freed_memory`).
TRIM_AFTER_PIXELS = 4_000_000


class UnfinishedReservations:
    """Places under each key's cap of unfinished jobs, held by the creates in progress in this process.

    A create reserves its place before it downloads or decodes anything and gives it back when it ends, stored
    or not; the places held count together with the jobs the store holds, so 40 creates of a key whose cap is 3
    cannot all be downloading. The store counts again atomically with the insert (other processes' creates
    are only visible there).
    """

    def __init__(self) -> None:
        self._held: dict[str, int] = {}

    def held(self, tenant: str) -> int:
        return self._held.get(tenant, 0)

    @asynccontextmanager
    async def reserve(
        self, tenant: str, *, cap: int, count_stored: Callable[[], Awaitable[int]]
    ) -> AsyncIterator[None]:
        """Hold one of `tenant`'s `cap` places for the body of the `async with`; `RateLimited` when its stored
        unfinished jobs and the places held already reach `cap`. A `cap` of 0 means no cap."""
        if cap <= 0:
            yield
            return
        stored = await count_stored()
        held = self.held(tenant)  # read after the await: the creates that reserved meanwhile count
        if stored + held >= cap:
            raise unfinished_jobs_exceeded(cap, stored + held)
        self._held[tenant] = held + 1
        try:
            yield
        finally:
            left = self._held[tenant] - 1
            if left:
                self._held[tenant] = left
            else:
                del self._held[tenant]


class NetworkSlots:
    """Blocking network calls of creates (image downloads, callback URL checks, MiniMax's handshake), at most
    `slots` at once on threads of their own, and at most `per_key` of them (running or waiting) for one key.

    A key past its share is refused at once (`RateLimited`, 429): its own calls are what it waits for. A call that
    finds every slot taken by others waits for one, for at most `wait_s`, then is refused (`QueueFull`, 503).
    """

    def __init__(self, *, slots: int, per_key: int, wait_s: float) -> None:
        self.slots = slots
        self.per_key = max(1, min(per_key, slots))
        self._wait_s = wait_s
        self._admitted = anyio.CapacityLimiter(slots)  # who may call now, first come first served
        self._threads = anyio.CapacityLimiter(slots)  # where they call from; never short, admission bounds it
        self._by_key: dict[str, int] = {}

    def held(self, tenant: str) -> int:
        return self._by_key.get(tenant, 0)

    async def run(self, tenant: str, call: Callable[[], T]) -> T:
        held = self.held(tenant)
        if held >= self.per_key:
            raise RateLimited(
                f"this API key already has {held} image download(s) or callback check(s) in progress; at most "
                f"{self.per_key} at once. Retry when one has finished",
                retry_after_s=UNFINISHED_RETRY_AFTER_S,
            )
        self._by_key[tenant] = held + 1
        try:
            with anyio.move_on_after(self._wait_s) as waiting:
                await self._admitted.acquire()
            if waiting.cancelled_caught:
                raise QueueFull(
                    f"all {self.slots} image download slots stayed busy for {self._wait_s:g} s; try again shortly"
                )
            try:
                return await anyio.to_thread.run_sync(call, limiter=self._threads)
            finally:
                self._admitted.release()
        finally:
            left = self._by_key[tenant] - 1
            if left:
                self._by_key[tenant] = left
            else:
                del self._by_key[tenant]


@dataclass(eq=False)
class _Waiter:
    pixels: int
    granted: anyio.Event = field(default_factory=anyio.Event)


class DecodeGate:
    """Image decodes, at most `slots` at once on threads of their own, holding at most `budget_pixels` decoded
    pixels between them. A decode waits (first come, first served) until its pixels fit beside those in flight;
    one larger than the whole budget runs alone. So 16 parallel 40-megapixel decodes queue instead of all
    holding their pixels at once."""

    def __init__(self, *, slots: int, budget_pixels: int) -> None:
        self.budget_pixels = budget_pixels
        self._threads = anyio.CapacityLimiter(slots)
        self._in_flight = 0
        self._waiting: deque[_Waiter] = deque()

    @property
    def pixels_in_flight(self) -> int:
        return self._in_flight

    async def run(self, pixels: int, decode: Callable[[], T]) -> T:
        """`decode()` on a decode thread, once `pixels` fit in the budget; they are counted until it returns."""
        await self._acquire(pixels)
        try:
            return await anyio.to_thread.run_sync(functools.partial(_then_trim, decode, pixels), limiter=self._threads)
        finally:
            self._release(pixels)

    async def run_small(self, work: Callable[[], T]) -> T:
        """CPU work that holds no decoded pixels (reading a header, decoding base64) on a decode thread."""
        return await anyio.to_thread.run_sync(work, limiter=self._threads)

    def _fits(self, pixels: int) -> bool:
        return self._in_flight == 0 or self._in_flight + pixels <= self.budget_pixels

    async def _acquire(self, pixels: int) -> None:
        if not self._waiting and self._fits(pixels):
            self._in_flight += pixels
            return
        waiter = _Waiter(pixels)
        self._waiting.append(waiter)
        try:
            await waiter.granted.wait()
        except BaseException:  # cancelled: give back what was granted meanwhile, or leave the queue
            if waiter.granted.is_set():
                self._release(pixels)
            else:
                self._waiting.remove(waiter)
                self._grant()
            raise

    def _release(self, pixels: int) -> None:
        self._in_flight -= pixels
        self._grant()

    def _grant(self) -> None:
        while self._waiting and self._fits(self._waiting[0].pixels):
            waiter = self._waiting.popleft()
            self._in_flight += waiter.pixels
            waiter.granted.set()


def _then_trim(decode: Callable[[], T], pixels: int) -> T:
    try:
        return decode()
    finally:
        if pixels >= TRIM_AFTER_PIXELS:
            _return_freed_memory()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc: nothing to call, and nothing kept the same way
        return None
    return trim


def _return_freed_memory() -> None:
    """glibc keeps freed memory of its per-thread arenas for reuse; after a large decode that is a few hundred MB
    the process would keep for good. `malloc_trim` hands free pages back (a few milliseconds)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@dataclass
class Admission:
    """Every limit a create passes through, built from the settings."""

    unfinished: UnfinishedReservations
    network: NetworkSlots
    decodes: DecodeGate
    parsing: anyio.CapacityLimiter  # threads that parse request bodies

    @classmethod
    def from_settings(cls, settings: Settings) -> Admission:
        return cls(
            unfinished=UnfinishedReservations(),
            network=NetworkSlots(
                slots=settings.fetch_slots,
                per_key=settings.fetch_slots_per_key,
                wait_s=settings.fetch_timeout_s,
            ),
            decodes=DecodeGate(
                slots=settings.decode_slots,
                budget_pixels=math.ceil(settings.decode_budget_megapixels * 1_000_000),
            ),
            parsing=anyio.CapacityLimiter(PARSE_THREADS),
        )
