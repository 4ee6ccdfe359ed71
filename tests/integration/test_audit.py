"""A token minted by the collection can be traced in kube-apiserver's audit log.

kube-apiserver records each request made with a bound token with the user's extra
``authentication.kubernetes.io/credential-id: ["JTI=<jti>"]``; the module, the lookup's dict
output and sa_token_info return that value as ``credential_id``.
"""
import pytest

from harness import play

pytestmark = [pytest.mark.both_clients, pytest.mark.real_only('reads kube-apiserver\'s audit log')]

SA_USER = 'system:serviceaccount:mcp:server'


def test_requests_made_with_a_minted_token_carry_its_credential_id(seeded_cluster, run_playbook):
    run = run_playbook(play(
        {'name': 'mint', 'mcp.k8s.sa_token': {'name': 'server', 'namespace': 'mcp'},
         'register': 'minted', 'no_log': True},
        {'name': 'use the token (SelfSubjectAccessReviews made as the account)',
         'mcp.k8s.sa_token_info': {'token': '{{ minted.token }}', 'can_i': [{'verb': 'list', 'resource': 'pods'}]},
         'register': 'info'},
        {'name': 'the lookup', 'ansible.builtin.set_fact': {
            'looked_up': "{{ lookup('mcp.k8s.sa_token', 'mcp/other', output='dict', kubeconfig=kubeconfig) }}"},
         'no_log': True},
        {'name': 'record', 'ansible.builtin.copy': {
            'dest': '{{ results_file }}', 'mode': '0600',
            'content': '{{ {"module": minted.credential_id, "info": info.credential_id,'
                       ' "jti": minted.claims.jti, "lookup": looked_up.credential_id,'
                       ' "lookup_jti": looked_up.claims.jti} | to_json }}'}},
        module_defaults={'group/mcp.k8s.k8s': {'kubeconfig': '{{ kubeconfig }}'}}, record=None))
    assert run.rc == 0, run
    found = run.results
    assert found['module'] == 'JTI=%s' % found['jti'] == found['info']
    assert found['lookup'] == 'JTI=%s' % found['lookup_jti'] and found['lookup'] != found['module']
    used = [r for r in seeded_cluster.requests if r['user'] == SA_USER]
    assert used, 'no request as %s in the audit log' % SA_USER
    assert {tuple(r['extra'].get('authentication.kubernetes.io/credential-id', [])) for r in used} == \
        {(found['module'],)}
    assert any(r['path'].endswith('/selfsubjectaccessreviews') and r['status'] == 201 for r in used)
