# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``mcp.k8s.token_claims`` filter: a JWT's payload, decoded without verification."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: token_claims
author:
  - mcp.k8s contributors (@mcp-k8s)
version_added: 0.1.0
short_description: Decode the claims of a Kubernetes ServiceAccount token (a JWT) without verifying it
description:
  - Returns the payload of a JSON Web Token, such as a ServiceAccount token minted by
    M(mcp.k8s.sa_token) or kept in a Secret by M(mcp.k8s.sa_token_secret), as a dictionary.
  - The signature is B(not) verified and the expiry is not checked; use the claims for display
    and decisions in templates (C(exp), C(sub), C(aud)), never to decide whether to trust a token.
    M(mcp.k8s.sa_token_info) with O(mcp.k8s.sa_token_info#module:verify_signature=true) checks the
    signature against the cluster's published keys, and with
    O(mcp.k8s.sa_token_info#module:review=true) asks the API server whether the token is valid.
  - Leading and trailing white space (for example the newline at the end of a token file) is ignored.
  - A value that is not a JWT fails the template with one sentence; the value itself is never shown.
requirements:
  - PyJWT
positional: _input
options:
  _input:
    description:
      - The token, a compact JWT (three base64url parts separated by dots).
    type: string
    required: true
seealso:
  - module: mcp.k8s.sa_token_info
  - module: mcp.k8s.sa_token
'''

EXAMPLES = r'''
- name: Mint a token
  mcp.k8s.sa_token:
    name: mcp-k8s-server
    namespace: mcp
  register: minted
  no_log: true

- name: Show who the token is for and when it expires
  ansible.builtin.debug:
    msg: >-
      {{ (minted.token | mcp.k8s.token_claims).sub }} until
      {{ '%Y-%m-%d %H:%M:%S' | strftime((minted.token | mcp.k8s.token_claims).exp, utc=true) }} UTC

- name: Renew when the token in a file expires within the hour
  vars:
    claims: "{{ lookup('ansible.builtin.file', '/etc/mcp/token') | mcp.k8s.token_claims }}"
  ansible.builtin.debug:
    msg: "Renew the token"
  when: claims.exp is defined and (claims.exp - now(utc=true).timestamp()) < 3600

- name: The ServiceAccount a token belongs to
  ansible.builtin.set_fact:
    token_account: "{{ (minted.token | mcp.k8s.token_claims)['kubernetes.io'].serviceaccount.name }}"
'''

RETURN = r'''
_value:
  description:
    - The claims of the token, unverified.
    - "A bound token (TokenRequest) carries C(iss), C(sub) (V(system:serviceaccount:NAMESPACE:NAME)),
      C(aud) (a list), C(exp), C(iat), C(nbf), C(jti) and C(kubernetes.io) (C(namespace),
      C(serviceaccount), and C(pod), C(secret) or C(node) when bound to an object)."
    - "A legacy token kept in a Secret carries C(iss) (V(kubernetes/serviceaccount)), C(sub) and
      C(kubernetes.io/serviceaccount/namespace), C(kubernetes.io/serviceaccount/secret.name),
      C(kubernetes.io/serviceaccount/service-account.name) and
      C(kubernetes.io/serviceaccount/service-account.uid); it has no C(exp) and no C(aud)."
  type: dict
'''

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.mcp.k8s.plugins.module_utils.errors import K8sTokenError
from ansible_collections.mcp.k8s.plugins.module_utils.serviceaccounts import decode_claims


def token_claims(token):
    """The payload of ``token`` (a compact JWT) as a dict; not verified."""
    if isinstance(token, bytes):
        token = to_text(token, errors='surrogate_or_strict')
    if not isinstance(token, str):
        kind = 'nothing' if token is None else 'a value of type %s' % type(token).__name__
        raise AnsibleFilterError('token_claims expects a token (a JWT string) but was given %s.' % kind)
    token = token.strip()
    if not token:
        raise AnsibleFilterError('token_claims was given an empty string instead of a token (a JWT).')
    try:
        claims = decode_claims(token)
    except K8sTokenError as exc:
        # one sentence from the core; it never contains the token
        raise AnsibleFilterError('token_claims: %s' % exc.message) from None
    if not isinstance(claims, dict):
        raise AnsibleFilterError('token_claims: the given token is not a JWT (its payload is not a JSON object).')
    return claims


class FilterModule(object):
    """mcp.k8s filters for tokens."""

    def filters(self):
        return {'token_claims': token_claims}
