# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of every mcp.k8s module: what each ``main()`` would otherwise repeat.

:class:`K8sModule` builds the ``AnsibleModule`` with the connection options merged into the
module's own argument spec, fails with ``missing_required_lib`` when a library the module needs
is missing, keeps every secret of the connection options out of the output (``no_log``), turns a
:class:`errors.K8sTokenError` into ``fail_json`` with its one sentence and the diagnostics (HTTP
``status``, ``reason``, the API server's ``api_status``, redacted, and the traceback in
``exception``), and passes the API server's warnings on as task warnings. Modules call this class
only, never the ``AnsibleModule`` behind it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.ansible_release import __version__ as _core_version
from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.parameters import remove_values

from ansible_collections.mcp.k8s.plugins.module_utils import connection
from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError, diagnostics, scrub, traceback_text


def _core_decides_tracebacks(version=_core_version):
    """Whether ansible-core decides itself (its DISPLAY_TRACEBACK setting, 2.19 and later) if the
    traceback given to ``fail_json`` is kept; before 2.19 it keeps every one it is given."""
    try:
        return tuple(int(part) for part in version.split('.')[:2]) >= (2, 19)
    except ValueError:
        return True


CORE_DECIDES_TRACEBACKS = _core_decides_tracebacks()


def _library_status(library):
    """``(available, import error)`` of a library a module may need, by its PyPI name (the
    module_utils that import it are imported only when asked, so a module loads what it uses)."""
    if library == 'kubernetes':
        error = connection.kubernetes_import_error()
        return error is None, error
    if library == 'PyJWT':
        from ansible_collections.mcp.k8s.plugins.module_utils import jwks, serviceaccounts
        return serviceaccounts.HAS_JWT and jwks.HAS_JWT, serviceaccounts.JWT_IMPORT_ERROR or jwks.JWT_IMPORT_ERROR
    if library == 'PyYAML':
        from ansible_collections.mcp.k8s.plugins.module_utils import server_files
        return server_files.HAS_YAML, None
    raise ValueError('unknown library %s' % library)


class K8sModule:
    """An ``AnsibleModule`` for this collection (``self.ansible``), with the connection options.

    ``argument_spec`` is the module's own options; the connection options of
    ``connection.AUTH_ARG_SPEC`` are added to it. ``requires`` names the libraries (PyPI names:
    ``kubernetes``, ``PyJWT``, ``PyYAML``) the module cannot run without; a module that needs one
    only for some options calls :meth:`require` itself. A module that makes no request
    (``check_variables``) passes ``connects=False``: no connection options.
    """

    def __init__(self, argument_spec, requires=('kubernetes',), supports_check_mode=True, connects=True, **kwargs):
        spec = copy.deepcopy(connection.AUTH_ARG_SPEC) if connects else {}
        spec.update(argument_spec)
        self.ansible = AnsibleModule(argument_spec=spec, supports_check_mode=supports_check_mode, **kwargs)
        for library in requires:
            self.require(library)
        if connects:
            self.ansible.no_log_values.update(connection.secret_values(connection.auth_options(self.params)))

    @property
    def params(self):
        return self.ansible.params

    @property
    def check_mode(self):
        return self.ansible.check_mode

    @property
    def diff_mode(self):
        return self.ansible._diff

    def require(self, library):
        """Fail with ``missing_required_lib`` unless ``library`` can be imported."""
        available, error = _library_status(library)
        if not available:
            details = {} if error is None else {'exception': traceback_text(error)}
            self.ansible.fail_json(msg=missing_required_lib(library), **details)

    def cluster(self):
        """The :class:`transport.Cluster` for the connection options of this task."""
        return connection.get_cluster(self.params)

    def run(self, work):
        """``work(self)``, a result dict; a :class:`K8sTokenError` it raises fails the task with its
        sentence (and ``changed`` when the error says something was changed before it), see :meth:`fail`."""
        try:
            return work(self)
        except K8sTokenError as exc:
            error = exc
        self.fail(error.message, {'changed': bool(getattr(error, 'changed', False))}, error=error)

    def fail(self, msg, result=None, warnings=(), error=None):
        """``fail_json`` with the sentence ``msg`` and ``result`` (a failed check returns its table),
        ``warnings`` shown as task warnings; for an ``error`` (an exception) also its diagnostics:
        ``status``, ``reason`` and ``api_status`` when the API server answered (:func:`errors.diagnostics`),
        and its traceback, scrubbed of secrets, in ``exception`` where ansible-core shows it (at -vvv
        before 2.19; from 2.19 when its DISPLAY_TRACEBACK setting includes ``error``)."""
        self.warn(warnings)
        details = dict(result or {})
        if error is not None:
            details.update(diagnostics(error))
            if CORE_DECIDES_TRACEBACKS or self.ansible._verbosity >= 3:
                details['exception'] = scrub(traceback_text(error))
        details.pop('msg', None)
        self.ansible.fail_json(msg=msg, **details)

    def warn(self, warnings):
        """Each of ``warnings`` (the API server's ``Warning`` headers, say; or one sentence) as a task warning."""
        for warning in [warnings] if isinstance(warnings, str) else warnings or ():
            self.ansible.warn(warning)

    def exit(self, result, warnings=(), diff=None):
        """``exit_json`` with ``result``, ``warnings`` shown as task warnings, and ``diff`` (unless None)
        returned only in diff mode."""
        self.warn(warnings)
        if diff is not None and self.diff_mode:
            result = dict(result, diff=diff)
        self.ansible.exit_json(**result)

    def exit_returning_secret(self, option, result):
        """``exit_json`` with ``result``, which holds the value of the no_log option ``option``
        unchanged (``sa_token`` returns the token it was given while that is still good).

        AnsibleModule removes every no_log value from the result when it exits, so it would
        return that value as ``VALUE_SPECIFIED_IN_NO_LOG_PARAMETER``. Here the ``invocation``
        (the module arguments) is built with every secret hidden first, then the value is
        dropped from ``no_log_values``, so the result keeps it and the invocation does not show
        it. ``tests/unit/plugins/module_utils/test_module.py`` runs this through a real
        AnsibleModule and fails if ansible-core changes how it hides no_log values.
        """
        value = self.params[option]
        invocation = {'module_args': remove_values(self.params, self.ansible.no_log_values)}
        self.ansible.no_log_values.discard(value)
        self.ansible.exit_json(invocation=invocation, **result)
