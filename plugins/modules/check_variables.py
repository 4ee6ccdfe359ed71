#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: check_variables
short_description: Warn about variables with a role's prefix that the role does not know
version_added: 0.1.0
description:
  - Warns about each name in O(names) that starts with O(prefix) and is not in O(known), naming the known
    variable closest to it, so that a mistyped variable (C(mcp_k8s_server_acess)) is not silently ignored.
  - The role C(mcp.k8s.mcp_k8s_server) runs it first with the C(mcp_k8s_server_*) variables it sees.
  - Changes nothing and makes no request.
author:
  - mcp.k8s contributors (@mcp-k8s)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
options:
  names:
    description:
      - The names of the variables to check, for example C(query('ansible.builtin.varnames', '^mcp_k8s_server_')).
    type: list
    elements: str
    required: true
  known:
    description:
      - The variables that are known (a role's options and the facts it sets).
    type: list
    elements: str
    required: true
  prefix:
    description:
      - Only names that start with this are checked.
    type: str
    required: true
  owner:
    description:
      - What the variables are for, as the warnings name it.
    type: str
    default: the role
  listing:
    description:
      - Where the known variables are listed, as the warnings name it.
    type: str
    default: the role's documentation
'''

EXAMPLES = r'''
- name: Warn about mcp_k8s_server_* variables the role does not know
  mcp.k8s.check_variables:
    names: "{{ query('ansible.builtin.varnames', '^mcp_k8s_server_') }}"
    known: [mcp_k8s_server_access, mcp_k8s_server_scope]
    prefix: mcp_k8s_server_
    owner: the role mcp.k8s.mcp_k8s_server
    listing: ansible-doc -t role mcp.k8s.mcp_k8s_server
'''

RETURN = r'''
unknown:
  description: The unknown names, each with the known name closest to it (null when none is close).
  returned: always
  type: list
  elements: dict
  sample: [{name: mcp_k8s_server_acess, closest: mcp_k8s_server_access}]
'''


from ansible_collections.mcp.k8s.plugins.module_utils import variables
from ansible_collections.mcp.k8s.plugins.module_utils.module import K8sModule


def main():
    module = K8sModule(dict(
        names=dict(type='list', elements='str', required=True),
        known=dict(type='list', elements='str', required=True),
        prefix=dict(type='str', required=True),
        owner=dict(type='str', default='the role'),
        listing=dict(type='str', default="the role's documentation"),
    ), requires=(), connects=False)
    params = module.params
    warnings = variables.warnings_for(params['names'], params['known'], params['prefix'], params['owner'], params['listing'])
    module.exit({'changed': False, 'unknown': [{'name': name, 'closest': closest} for name, closest in
                                               variables.unknown(params['names'], params['known'], params['prefix'])]},
                warnings=warnings)


if __name__ == '__main__':
    main()
