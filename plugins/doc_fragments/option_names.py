# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The option_names option of the modules whose messages tell the user to set an option."""

    DOCUMENTATION = r'''
options:
  option_names:
    description:
      - The names the module's messages give its options, a dict from option to name, for a caller
        whose users set other names than the options (a role's variables). A message that says to
        set an option (C(force), a path) then names it so; the role C(mcp.k8s.mcp_k8s_server) maps
        each option it sets from a variable to that variable's name. Options left out keep their
        own names.
      - Each key must be an option of the module.
    type: dict
    default: {}
'''
