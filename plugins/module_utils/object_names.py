# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Object names checked as kube-apiserver checks them, before any request.

ServiceAccount, Pod, Secret and Node names are DNS-1123 subdomains (at most 253 characters of
lowercase letters, digits, ``-`` and ``.``, each dot-separated part starting and ending with a
letter or digit); namespace names are DNS-1123 labels (at most 63 characters, no dots).
A name the API server would reject fails here with one sentence instead of a 404 or 422.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError

# The annotation on every object this collection creates: NAMESPACE/NAME of the ServiceAccount it was
# made for (access.py and legacy_secrets.py decide ownership by it).
CREATED_ANNOTATION = 'mcp.k8s/created-by'

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253

_LABEL = r'[a-z0-9]([-a-z0-9]*[a-z0-9])?'
# \Z, not $: "$" also matches before a final newline, which would let "name\n" through
_LABEL_RE = re.compile(r'\A%s\Z' % _LABEL)
_SUBDOMAIN_RE = re.compile(r'\A%s(\.%s)*\Z' % (_LABEL, _LABEL))


def is_dns1123_label(value):
    """Whether ``value`` is a DNS-1123 label (a namespace name)."""
    return isinstance(value, str) and len(value) <= DNS1123_LABEL_MAX and bool(_LABEL_RE.match(value))


def is_dns1123_subdomain(value):
    """Whether ``value`` is a DNS-1123 subdomain (a ServiceAccount, Pod, Secret or Node name)."""
    return isinstance(value, str) and len(value) <= DNS1123_SUBDOMAIN_MAX and bool(_SUBDOMAIN_RE.match(value))


def _shown(value):
    """``value`` for a message: quoted, control characters escaped (a final newline shows as \\n),
    long ones shortened."""
    text = str(value)
    if len(text) > 40:
        text = text[:20] + '...' + text[-8:]
    return json.dumps(text, ensure_ascii=False)


def check_name(value, what='ServiceAccount', option='name'):
    """``value`` when it is a valid object name (DNS-1123 subdomain), else :class:`K8sTokenError`."""
    if is_dns1123_subdomain(value):
        return value
    text = str(value)
    if len(text) > DNS1123_SUBDOMAIN_MAX:
        raise K8sTokenError('%s %s has %d characters, more than the %d a %s name may have; use a shorter name.'
                            % (option, _shown(text), len(text), DNS1123_SUBDOMAIN_MAX, what))
    raise K8sTokenError('%s %s is not a valid %s name; use lowercase letters, digits, "-" and ".", starting '
                        'and ending with a letter or digit.' % (option, _shown(text), what))


def check_namespace(value, option='namespace'):
    """``value`` when it is a valid namespace name (DNS-1123 label), else :class:`K8sTokenError`."""
    if is_dns1123_label(value):
        return value
    text = str(value)
    if len(text) > DNS1123_LABEL_MAX:
        raise K8sTokenError('%s %s has %d characters, more than the %d a namespace name may have; use a '
                            'shorter name.' % (option, _shown(text), len(text), DNS1123_LABEL_MAX))
    raise K8sTokenError('%s %s is not a valid namespace name; use lowercase letters, digits and "-", starting '
                        'and ending with a letter or digit.' % (option, _shown(text)))
