import pytest
import urllib3

from ansible_collections.mcp.k8s.plugins.module_utils import retries
from ansible_collections.mcp.k8s.plugins.module_utils.errors import HttpError


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self):
        return self.now


def failing(*failures, result='ok'):
    queue = list(failures)

    def func():
        if queue:
            raise queue.pop(0)
        return result
    return func


def test_retries_429_with_retry_after_then_succeeds():
    clock = Clock()
    func = failing(HttpError(429, headers={'Retry-After': '2'}), HttpError(503))
    assert retries.call(func, sleep=clock.sleep, clock=clock) == 'ok'
    assert clock.sleeps[0] == 2.0 and len(clock.sleeps) == 2


def test_dropped_connection_is_retried_but_not_tls_or_4xx():
    clock = Clock()
    dropped = urllib3.exceptions.ProtocolError('Connection aborted.', ConnectionResetError(104, 'reset'))
    assert retries.call(failing(dropped), sleep=clock.sleep, clock=clock) == 'ok'
    for exc in (HttpError(403), HttpError(404), urllib3.exceptions.SSLError('certificate verify failed')):
        with pytest.raises(type(exc)):
            retries.call(failing(exc), sleep=clock.sleep, clock=clock)


def test_bounded_in_time_and_attempts():
    clock = Clock()
    errors = [HttpError(503, headers={'Retry-After': '10'}) for _attempt in range(10)]
    with pytest.raises(HttpError) as info:
        retries.call(failing(*errors), window=25, sleep=clock.sleep, clock=clock)
    assert info.value.attempts == 3 and clock.now == 20
    clock = Clock()
    with pytest.raises(HttpError) as info:
        retries.call(failing(*[HttpError(500) for _attempt in range(20)]), sleep=clock.sleep, clock=clock)
    assert info.value.attempts == retries.MAX_ATTEMPTS
    assert all(delay <= retries.MAX_DELAY for delay in clock.sleeps)


def test_attempts_wait_then_stop_at_the_limit_with_the_count_on_the_error():
    clock = Clock()
    attempts = retries.Attempts(max_attempts=3, sleep=clock.sleep, clock=clock)
    error = HttpError(503, headers={'Retry-After': '1'})
    assert attempts.again(error) is True and attempts.again(error) is True
    assert attempts.again(error) is False
    assert clock.sleeps == [1.0, 1.0] and error.attempts == 3 and error.elapsed == 2.0


def test_attempts_give_up_at_once_on_an_answer_not_worth_repeating():
    clock = Clock()
    attempts = retries.Attempts(sleep=clock.sleep, clock=clock)
    assert attempts.again(HttpError(403)) is False and attempts.again(ValueError('bug')) is False
    assert clock.sleeps == []
