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


def call(func, window=RETRY_WINDOW, max_attempts=MAX_ATTEMPTS, sleep=time.sleep, clock=time.monotonic):
    """``func()``, tried again after retryable failures while inside ``window`` seconds.

    The last failure is raised with ``attempts`` and ``elapsed`` set when it is an
    :class:`errors.HttpError`.
    """
    start = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return func()
        except Exception as exc:
            delay = retry_delay(exc, attempt)
            elapsed = clock() - start
            if delay is None or attempt >= max_attempts or elapsed + delay > window:
                if isinstance(exc, HttpError):
                    exc.attempts = attempt
                    exc.elapsed = elapsed
                raise
        sleep(delay)
