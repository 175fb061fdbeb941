"""Run a coroutine to completion from a test, whatever else the test session has running.

The browser tests' session-wide Playwright (sync API) keeps an asyncio loop running in the main thread, so a
plain ``asyncio.run`` in a later test fails with "cannot be called from a running event loop". ``run_async``
gives the coroutine a loop of its own in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-asyncio") as pool:
        return pool.submit(asyncio.run, coro).result()
