# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Durations as ``kubectl create token --duration`` writes them (Go syntax), or seconds.

``parse_seconds`` accepts ``10m``, ``1h30m``, ``3600s``, ``1.5h``, an integer or a string of
digits (seconds) and returns whole seconds. ``token_duration`` adds the TokenRequest limits.
``rfc3339`` and ``epoch`` convert between seconds since the epoch and the API's timestamps.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import math
import re
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation

from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

MIN_TOKEN_SECONDS = 600          # the API server rejects less (10 minutes)
MAX_TOKEN_SECONDS = 2 ** 32      # the API server rejects more
MAX_GO_SECONDS = (2 ** 63 - 1) // 10 ** 9   # a Go time.Duration (int64 nanoseconds) ends at about 292 years
DEFAULT_TOKEN_DURATION = '1h'
# A token reused for less than this after it was minted (duration - renew_before) earns a warning:
# a run more than that after the last mints a new token.
RENEW_MARGIN_SECONDS = 300

# Go's time.ParseDuration units, in nanoseconds.
_UNITS = {
    'ns': Decimal(1), 'us': Decimal(10) ** 3, '\u00b5s': Decimal(10) ** 3, '\u03bcs': Decimal(10) ** 3,
    'ms': Decimal(10) ** 6, 's': Decimal(10) ** 9, 'm': Decimal(60) * 10 ** 9, 'h': Decimal(3600) * 10 ** 9,
}
# ASCII digits only, as Go's parser reads them (\\d would take any Unicode digit).
_PART = re.compile(r'([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)')
_SECOND = Decimal(10) ** 9
_MAX_NANOSECONDS = Decimal(2 ** 63 - 1)


def parse_seconds(value, option='duration'):
    """Whole seconds in ``value`` (Go duration string, int or digit string); may be 0 or negative."""
    if isinstance(value, bool) or value is None:
        raise K8sTokenError('%s must be a duration such as "10m", "1h30m" or a number of seconds, '
                            'not %r.' % (option, value))
    if isinstance(value, int):
        return _in_range(value, option, value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise K8sTokenError('%s must be a number of seconds, not %s.' % (option, value))
        if value != int(value):
            raise K8sTokenError('%s must be whole seconds, not %s.' % (option, value))
        return _in_range(int(value), option, value)
    text = str(value).strip()
    if re.match(r'^[+-]?[0-9]+$', text):
        if len(text.lstrip('+-').lstrip('0')) > len(str(MAX_GO_SECONDS)):
            _out_of_range(option, text)
        return _in_range(int(text), option, text)
    nanoseconds = _parse_go_duration(text, option)
    if nanoseconds % _SECOND:
        raise K8sTokenError('%s must be whole seconds; %s is %s seconds.'
                            % (option, _shown(text), _plain(nanoseconds / _SECOND)))
    return int(nanoseconds // _SECOND)


def _in_range(seconds, option, value):
    if abs(seconds) > MAX_GO_SECONDS:
        _out_of_range(option, value)
    return seconds


def _out_of_range(option, value):
    raise K8sTokenError('%s %s is out of range; a duration ends at about 292 years (2^63 nanoseconds), and a '
                        'token may last at most 2^32 seconds.' % (option, _shown(value)))


def _shown(value):
    """``value`` quoted for a message, a long one shortened."""
    if not isinstance(value, str):
        text = str(value) if abs(value) < 10 ** 30 else '%.3g' % value
        return text
    if len(value) > 40:
        value = value[:20] + '...' + value[-8:]
    return '"%s"' % value


def _parse_go_duration(text, option):
    sign = 1
    rest = text
    if rest[:1] in ('+', '-'):
        sign = -1 if rest[0] == '-' else 1
        rest = rest[1:]
    if rest == '0':
        return Decimal(0)
    total = Decimal(0)
    position = 0
    while position < len(rest):
        match = _PART.match(rest, position)
        if not match:
            raise K8sTokenError('%s %s is not a duration; use kubectl\'s form such as "10m", '
                                '"1h30m", "3600s" or a number of seconds.' % (option, _shown(text)))
        try:
            total += Decimal(match.group(1)) * _UNITS[match.group(2)]
        except InvalidOperation:
            raise K8sTokenError('%s %s is not a duration.' % (option, _shown(text)))
        if total > _MAX_NANOSECONDS:
            _out_of_range(option, text)
        position = match.end()
    if not rest:
        raise K8sTokenError('%s is empty; use a duration such as "1h".' % option)
    return sign * total


def _plain(number):
    text = format(number.normalize(), 'f')
    return text


def token_duration(value):
    """Seconds for a TokenRequest's ``expirationSeconds``, checked against the API server's limits."""
    if value is None or value == '':
        value = DEFAULT_TOKEN_DURATION
    seconds = parse_seconds(value)
    if seconds < MIN_TOKEN_SECONDS:
        raise K8sTokenError('duration %s (%d seconds) is below the minimum of 10 minutes (600 seconds) '
                            'that the API server accepts; use "10m" or longer.' % (_shown(value), seconds))
    if seconds > MAX_TOKEN_SECONDS:
        raise K8sTokenError('duration %s (%d seconds) is above the maximum of 2^32 seconds (%d) that the '
                            'API server accepts; use a shorter duration.' % (_shown(value), seconds, MAX_TOKEN_SECONDS))
    return seconds


def renew_before_seconds(value, default):
    """Seconds before expiry at which a token is no longer reused; not negative."""
    seconds = parse_seconds(default if value is None or value == '' else value, option='renew_before')
    if seconds < 0:
        raise K8sTokenError('renew_before must not be negative, not %s.' % _shown(value))
    return seconds


def renewal_warning(duration, renew_before, default_renew_before):
    """The warning for a token whose ``duration`` leaves less than RENEW_MARGIN_SECONDS before
    ``renew_before`` (None when they are far enough apart); raises :class:`K8sTokenError` when
    ``renew_before`` is not shorter than ``duration``, since every run would then mint a token.

    ``duration`` and ``renew_before`` are the option values (kubectl durations or seconds, None or
    empty for the defaults); the same rule for the sa_token module, the lookup and the role.
    """
    seconds = token_duration(duration)
    renew_value = default_renew_before if renew_before is None or renew_before == '' else renew_before
    renew = renew_before_seconds(renew_value, default_renew_before)
    duration_value = DEFAULT_TOKEN_DURATION if duration is None or duration == '' else duration
    if renew >= seconds:
        raise K8sTokenError('renew_before %s (%s) is not shorter than duration %s (%s), so no token would ever be '
                            'reused and every run would mint a new one; set renew_before to %s or less, or a longer '
                            'duration.' % (_shown(renew_value), _seconds(renew), _shown(duration_value),
                                           _seconds(seconds), go_duration(max(seconds - RENEW_MARGIN_SECONDS, 0))))
    if seconds - renew < RENEW_MARGIN_SECONDS:
        return ('renew_before %s leaves a token of duration %s reusable for only %s after it is minted, so a run more '
                'than that after the last mints a new token; keep at least %s between them (renew_before %s or less).'
                % (_shown(renew_value), _shown(duration_value), go_duration(seconds - renew),
                   go_duration(RENEW_MARGIN_SECONDS), go_duration(seconds - RENEW_MARGIN_SECONDS)))
    return None


def _seconds(seconds):
    return '%d second%s' % (seconds, '' if seconds == 1 else 's')


def go_duration(seconds):
    """``seconds`` written as kubectl writes a duration: 600 -> "10m", 3900 -> "1h5m", 90 -> "1m30s"."""
    seconds = int(seconds)
    if seconds == 0:
        return '"0s"'
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = ''.join('%d%s' % (count, unit) for count, unit in ((hours, 'h'), (minutes, 'm'), (secs, 's')) if count)
    return '"%s%s"' % ('-' if seconds < 0 else '', text)


def rfc3339(seconds):
    """The RFC 3339 UTC timestamp (``2026-11-28T18:00:00Z``) of ``seconds`` since the epoch; None stays None."""
    if seconds is None:
        return None
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(int(seconds)))


def epoch(timestamp):
    """Seconds since the epoch of an RFC 3339 timestamp such as the API server writes."""
    text = str(timestamp).strip().replace('Z', '+00:00')
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = datetime.strptime(text[:19], '%Y-%m-%dT%H:%M:%S')
    if moment.tzinfo is None:
        return calendar.timegm(moment.timetuple())
    return moment.timestamp()
