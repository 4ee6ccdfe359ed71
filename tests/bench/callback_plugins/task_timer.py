# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record each task's wall time (per host) into the JSON file named by BENCH_TIMINGS."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = '''
name: task_timer
type: aggregate
short_description: write task durations to a JSON file for the benchmarks
description:
  - Used by C(make bench) only; not shipped with the collection.
requirements:
  - the BENCH_TIMINGS environment variable names the output file
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'task_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._started = {}
        self._timings = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = time.perf_counter()

    def _record(self, result, status):
        task = result._task
        started = self._started.get(task._uuid)
        if started is not None:
            self._timings.append({'task': task.get_name(), 'host': result._host.get_name(),
                                  'seconds': time.perf_counter() - started, 'status': status})

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed')

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get('BENCH_TIMINGS')
        if path:
            with open(path, 'w') as handle:
                json.dump(self._timings, handle)
