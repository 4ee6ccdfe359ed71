# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Variables a role does not know: a mistyped ``mcp_k8s_server_acess`` would otherwise be ignored
without a word. :func:`unknown` decides which names are unknown and which known name each is closest
to (difflib); :func:`warnings_for` says it in one sentence each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib

# How alike the part after the prefix must be to a known name's (difflib's ratio) for that name to be
# offered as the one meant (the shared prefix would make every name look alike).
CLOSENESS = 0.6


def unknown(names, known, prefix):
    """``[(name, closest known name or None)]`` for each of ``names`` that starts with ``prefix`` and is
    not in ``known``, in sorted order."""
    known = sorted(set(str(name) for name in known or ()))
    found = []
    for name in sorted(set(str(name) for name in names or ())):
        if not name.startswith(prefix) or name in known:
            continue
        rests = dict((other[len(prefix):], other) for other in known if other.startswith(prefix))
        matches = difflib.get_close_matches(name[len(prefix):], sorted(rests), n=1, cutoff=CLOSENESS)
        found.append((name, rests[matches[0]] if matches else None))
    return found


def warnings_for(names, known, prefix, owner, listing):
    """One warning sentence for each unknown name (see :func:`unknown`); ``owner`` names what the
    variables are for (``the role mcp.k8s.mcp_k8s_server``) and ``listing`` where they are listed."""
    sentences = []
    for name, closest in unknown(names, known, prefix):
        if closest:
            fix = 'rename it to %s if that is what was meant (%s lists the variables).' % (closest, listing)
        else:
            fix = '%s lists the variables.' % listing
        sentences.append('%s is not a variable of %s and is ignored; %s' % (name, owner, fix))
    return sentences
