# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The TokenRequest options shared by the M(mcp.k8s.sa_token) module and lookup."""

    DOCUMENTATION = r'''
options:
  namespace:
    description:
      - Namespace of the ServiceAccount (and of a bound Pod or Secret).
    type: str
    default: default
  audiences:
    description:
      - Audiences the token is meant for (its C(aud) claim), as C(kubectl create token --audience).
      - Empty means the API server's default audiences (its API audiences, normally its issuer),
        which is what the API server itself accepts.
    type: list
    elements: str
    default: []
  duration:
    description:
      - How long the token stays valid, in C(kubectl)'s syntax (V(10m), V(1h30m), V(3600s)) or as
        an integer of seconds.
      - Checked before any request is made - at least 10 minutes, at most 2^32 seconds, whole
        seconds only.
      - The API server may grant less (C(--service-account-max-token-expiration)); it then says so
        in a warning and RV(mcp.k8s.sa_token#module:duration) holds what was granted.
    type: raw
    default: 1h
  bound_object:
    description:
      - Bind the token to an object, as C(kubectl create token --bound-object-kind/name/uid).
        The token stops working when that object is deleted.
    type: dict
    suboptions:
      kind:
        description:
          - Kind of the object. V(Node) needs Kubernetes 1.31 or newer (1.29 and 1.30 with the
            C(ServiceAccountTokenNodeBinding) feature gate).
        type: str
        required: true
        choices: [Pod, Secret, Node]
      name:
        description:
          - Name of the object, in O(namespace) for a Pod or a Secret.
        type: str
        required: true
      uid:
        description:
          - UID of the object. When omitted, the object is read and the token bound to its current
            UID (this needs C(get) on the object).
        type: str
  validate:
    description:
      - Confirm the token through a TokenReview and return what the API server says about it
        (needs C(create) on C(tokenreviews), for example through C(system:auth-delegator)).
    type: bool
    default: false
'''
