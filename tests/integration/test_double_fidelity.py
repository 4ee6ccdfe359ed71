"""How faithful is the API server double? The same probes against a real control plane and the double.

Every probe of ``kube_real.probes`` runs once against a real kube-apiserver (and a second one
started with ``--service-account-max-token-expiration``) and once against the double with the
same options. The observations (status code, Status reason/message/details, token claims,
review answers, normalised for uids, ports and timestamps only) must be equal, or the probe is
in ``ACCEPTED`` with the reason the difference stays. The run writes ``docs/double-fidelity.md``.

This test is not parametrized by ``cluster_kind``: it starts one plane of each kind itself.
``MCP_K8S_FIDELITY_DUMP=path`` also writes the raw observations as JSON.
"""
import concurrent.futures
import json
import os

import pytest

from kube_real.probes import PROBES, VERSION, Target, run_probes
from kube_real.pytest_plugin import real_tier_enabled

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, 'docs', 'double-fidelity.md')
MAX_TOKEN_EXPIRATION = 7200

# probe name -> why the difference stays. Nothing else may differ.
ACCEPTED = {
    'apply: server-side apply creates (201)':
        'The double keeps field ownership to itself (tests/kube_double/ownership.py: apply conflicts and '
        '`force` behave as measured by the other apply probes) and writes no `metadata.managedFields`. '
        'Neither the collection nor kubernetes.core reads managedFields; kubernetes.core decides `changed` by '
        'comparing whole objects, and the no-op probes show the whole answer unchanged on both servers.',
    'tokenrequest: body is not JSON (400)':
        'Same code and reason; the text after "json parse error:" is the JSON parser\'s own (Go encoding/json '
        'against Python json), which the double does not imitate. Nothing matches on it.',
    'list: invalid label selector (400)':
        'Same code and reason; the text is the label selector lexer\'s own error (Go labels.Parse), which the '
        'double\'s parser does not imitate. Nothing matches on it.',
    'certificates: an approved kube-apiserver-client CSR is signed by the cluster CA':
        'The double serves no certificates.k8s.io API (404). The collection never creates, approves or reads '
        'CSRs; it judges the CSR escalation path by the RBAC answers (rules and access reviews), which the double '
        'does serve. The real tier shows the path is open on a production control plane.',
}

pytestmark = pytest.mark.skipif(not real_tier_enabled(), reason='the real control plane tier is off (MCP_K8S_REAL_CLUSTER=0)')


def _cell(value):
    text = json.dumps(value, sort_keys=True)
    return text.replace('|', '\\|').replace('\n', ' ')


def write_doc(real, double, differing):
    lines = [
        '# How faithful is the API server double',
        '',
        'Written by `tests/integration/test_double_fidelity.py` (do not edit by hand): each probe of',
        '`tests/kube_real/probes.py` runs against a real control plane (kube-apiserver, etcd and',
        'kube-controller-manager %s built from Go modules) and against `tests/kube_double` started' % VERSION,
        'with the same options (`version=%s`; the "max" probes on a second pair started with' % VERSION,
        '`--service-account-max-token-expiration=%ds`). Observations are normalised for uids (shown as' % MAX_TOKEN_EXPIRATION,
        'the object they belong to), ports and timestamps only; token times are offsets from `iat`.',
        'The test fails when a probe differs and is not listed under "Accepted differences".',
        '',
        '%d probes, %d differ (all accepted below).' % (len(real), len(differing)),
        '',
        '| probe | real | double | same |',
        '|---|---|---|---|',
    ]
    for item in PROBES:
        same = real[item.name] == double[item.name]
        lines.append('| %s | `%s` | %s | %s |' % (
            item.name, _cell(real[item.name]),
            'as real' if same else '`%s`' % _cell(double[item.name]), 'yes' if same else '**no**'))
    lines += ['', '## Accepted differences', '']
    if not ACCEPTED:
        lines.append('None.')
    for name, why in ACCEPTED.items():
        lines.append('- **%s**: %s' % (name, why))
    lines.append('')
    with open(DOC, 'w', encoding='utf-8') as handle:
        handle.write('\n'.join(lines))


@pytest.mark.slow
def test_double_answers_as_the_real_control_plane(kube_double_factory, real_control_plane_factory):
    targets = {
        'real': {'default': Target(real_control_plane_factory()),
                 'max': Target(real_control_plane_factory(max_token_expiration=MAX_TOKEN_EXPIRATION))},
        'double': {'default': Target(kube_double_factory(version=VERSION)),
                   'max': Target(kube_double_factory(version=VERSION, max_token_expiration=MAX_TOKEN_EXPIRATION))},
    }
    # both at once: the revocation probes wait 11 s on each server
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        real_run, double_run = pool.submit(run_probes, targets['real']), pool.submit(run_probes, targets['double'])
        real, double = real_run.result(), double_run.result()
    if os.environ.get('MCP_K8S_FIDELITY_DUMP'):
        with open(os.environ['MCP_K8S_FIDELITY_DUMP'], 'w', encoding='utf-8') as handle:
            json.dump({'real': real, 'double': double}, handle, indent=1, sort_keys=True)
    assert len(PROBES) >= 60
    assert len({item.name for item in PROBES}) == len(PROBES), 'probe names must be unique'
    differing = [item.name for item in PROBES if real[item.name] != double[item.name]]
    write_doc(real, double, differing)
    errors = {name: result['error'] for name, result in real.items() if 'error' in result}
    assert not errors, 'probes failed against the real control plane: %s' % errors
    unexplained = {name: {'real': real[name], 'double': double[name]} for name in differing if name not in ACCEPTED}
    assert not unexplained, 'the double differs from kube-apiserver:\n' + json.dumps(unexplained, indent=1, sort_keys=True)
    stale = sorted(set(ACCEPTED) - set(differing))
    assert not stale, 'accepted differences that no longer differ (remove them from ACCEPTED): %s' % stale
