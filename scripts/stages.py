"""`make test`: run each stage (a make target) in order and print every stage's wall time.

The table is printed at the end, and also when a stage fails (the run stops there), so a CI
log always says where the time went:

    python scripts/stages.py changelog-lint lint units ...
"""
import os
import subprocess
import sys
import time


def table(times, total):
    lines = ['', '--- stage times (wall clock)', '%-16s %8s  %s' % ('stage', 'seconds', 'result')]
    for stage, seconds, result in times:
        lines.append('%-16s %8.0f  %s' % (stage, seconds, result))
    lines.append('%-16s %8.0f' % ('total', total))
    return '\n'.join(lines)


def main(stages):
    make = os.environ.get('MAKE', 'make')
    started = time.monotonic()
    times = []
    for stage in stages:
        print('=== stage %s' % stage, flush=True)
        begun = time.monotonic()
        code = subprocess.call([make, '--no-print-directory', stage])
        times.append((stage, time.monotonic() - begun, 'ok' if code == 0 else 'FAILED (exit %d)' % code))
        if code != 0:
            print(table(times, time.monotonic() - started), flush=True)
            print('make test: stage %s failed; the stages after it did not run.' % stage, flush=True)
            return code
    print(table(times, time.monotonic() - started), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
