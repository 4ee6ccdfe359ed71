# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names a module's messages give its options.

A message that tells the user to set an option names it as the caller knows it: the option's
own name for a task, the role's variable for the role (``mcp_k8s_server_adopt`` for ``adopt``).
The caller passes those names as data in the ``option_names`` option (doc fragment
``mcp.k8s.option_names``); every such message names its options through :func:`name` or
:func:`setting`, so the role shows the module's sentence as it is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

OPTION = 'option_names'


def argument_spec():
    """The ``option_names`` option, for the argument spec of a module that takes it."""
    return {OPTION: dict(type='dict', default={})}


def of(params):
    """The names given in ``params['option_names']``, checked: each key an option of the module
    (one of ``params``), each value a name; a mistyped key would otherwise rename nothing."""
    names = params.get(OPTION) or {}
    unknown = sorted(option for option in names if option not in params or option == OPTION)
    if unknown:
        raise K8sTokenError('option_names gives names for %s, which %s not an option of this module; use the '
                            'names of its options as keys.' % (', '.join(unknown), 'is' if len(unknown) == 1 else 'are'))
    empty = sorted(option for option, value in names.items() if not isinstance(value, str) or not value.strip())
    if empty:
        raise K8sTokenError('option_names gives %s no name; give each key the name its messages should use, '
                            'as a string.' % ', '.join(empty))
    return dict(names)


def name(names, option):
    """What a message calls ``option``: its name in ``names``, else its own."""
    return (names or {}).get(option) or option


def setting(names, option, value, assign='='):
    """How a message says to set ``option`` to ``value``: ``force=true`` for a module option
    (``assign`` is how the message writes it), ``mcp_k8s_server_kubeconfig_overwrite: true`` for
    a name in ``names`` (a variable, as written in YAML)."""
    renamed = (names or {}).get(option)
    if renamed:
        return '%s: %s' % (renamed, value)
    return '%s%s%s' % (option, assign, value)
