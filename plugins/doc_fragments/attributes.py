# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The attributes every module of the collection shares: its action group and platform.
    Each module still says its own check_mode and diff_mode support."""

    DOCUMENTATION = r'''
attributes:
  platform:
    platforms: posix
  action_group:
    description: Use C(group/mcp.k8s.k8s) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - mcp.k8s.k8s
'''
