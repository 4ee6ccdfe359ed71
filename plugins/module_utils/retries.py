# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded retries with backoff for answers and failures that a second try can fix.

Retried: 429 (honouring ``Retry-After``), 500, 502, 503, 504, refused, reset or dropped
connections. Not retried: every other answer, TLS failures, timeouts (the request may have
been slow, not lost). The whole sequence stays within ``window`` seconds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time

from ansible_collections.mcp.k8s.plugins.module_utils.errors import HttpError, failure_kind

RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
RETRY_WINDOW = 30.0       # seconds from the first attempt after which no retry starts
MAX_ATTEMPTS = 5
BASE_DELAY = 0.2
MAX_DELAY = 5.0


def retry_delay(exc, attempt):
    """Seconds to wait before attempt ``attempt + 1`` after ``exc``, or None to give up."""
    if isinstance(exc, HttpError):
        if exc.status not in RETRY_STATUSES:
            return None
        after = _retry_after(exc.headers)
        if after is not None:
            return after
    elif failure_kind(exc) not in ('connection', 'proxy'):
        return None
    backoff = min(MAX_DELAY, BASE_DELAY * (2 ** (attempt - 1)))
    return backoff * (0.5 + random.random() / 2)


def _retry_after(headers):
    value = None
    try:
        value = headers.get('Retry-After')
    except AttributeError:
        pass
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:   # an HTTP date: not sent by the API server; use the backoff
        return None


class Attempts:
    """The attempts of one request: after each failure, :meth:`again` says whether to try once more
    (and waits first). The caller runs the loop, so this file is never on the stack of a request."""

    def __init__(self, window=RETRY_WINDOW, max_attempts=MAX_ATTEMPTS, sleep=time.sleep, clock=time.monotonic):
        self.window, self.max_attempts, self.sleep, self.clock = window, max_attempts, sleep, clock
        self.start = clock()
        self.attempt = 1

    def again(self, exc):
        """After ``exc`` ended the current attempt: True (having waited) when another is due, else False,
        with ``attempts`` and ``elapsed`` set on ``exc`` when it is an :class:`errors.HttpError`."""
        delay = retry_delay(exc, self.attempt)
        elapsed = self.clock() - self.start
        if delay is None or self.attempt >= self.max_attempts or elapsed + delay > self.window:
            if isinstance(exc, HttpError):
                exc.attempts = self.attempt
                exc.elapsed = elapsed
            return False
        self.sleep(delay)
        self.attempt += 1
        return True


def call(func, window=RETRY_WINDOW, max_attempts=MAX_ATTEMPTS, sleep=time.sleep, clock=time.monotonic):
    """``func()``, tried again after retryable failures while inside ``window`` seconds.

    The last failure is raised with ``attempts`` and ``elapsed`` set when it is an
    :class:`errors.HttpError`.
    """
    attempts = Attempts(window, max_attempts, sleep, clock)
    while True:
        try:
            return func()
        except Exception as exc:
            if not attempts.again(exc):
                raise
