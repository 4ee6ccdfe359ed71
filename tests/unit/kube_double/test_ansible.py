"""kubernetes.core.k8s and k8s_info (ansible-playbook from .venv) against the double."""
import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV = os.path.join(ROOT, '.venv', 'bin')
PLAYBOOK = os.path.join(VENV, 'ansible-playbook')

pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason='.venv with ansible is missing')

PLAY = """
- hosts: localhost
  gather_facts: false
  vars:
    objects:
      - apiVersion: v1
        kind: Namespace
        metadata: {name: demo}
      - apiVersion: v1
        kind: ServiceAccount
        metadata: {name: app, namespace: demo, labels: {team: a}}
      - apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata: {name: minter, namespace: demo}
        rules:
          - apiGroups: [""]
            resources: [serviceaccounts/token]
            verbs: [create]
            resourceNames: [app]
      - apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: minter, namespace: demo}
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: minter}
        subjects:
          - {kind: ServiceAccount, name: app, namespace: demo}
  tasks:
    - name: Create
      kubernetes.core.k8s: {state: present, definition: "{{ objects }}"}
      register: created
    - name: Again
      kubernetes.core.k8s: {state: present, definition: "{{ objects }}"}
      register: again
    - name: Server-side apply
      kubernetes.core.k8s:
        state: present
        apply: true
        server_side_apply: {field_manager: mcp, force_conflicts: true}
        definition: "{{ objects }}"
      register: ssa
    - name: Server-side apply again
      kubernetes.core.k8s:
        state: present
        apply: true
        server_side_apply: {field_manager: mcp, force_conflicts: true}
        definition: "{{ objects }}"
      register: ssa_again
    - name: Change a label
      kubernetes.core.k8s:
        state: present
        definition: {apiVersion: v1, kind: ServiceAccount, metadata: {name: app, namespace: demo, labels: {team: b}}}
      register: relabel
    - name: Read by label
      kubernetes.core.k8s_info: {kind: ServiceAccount, namespace: demo, label_selectors: [team=b]}
      register: info
    - name: Delete
      kubernetes.core.k8s: {state: absent, api_version: v1, kind: ServiceAccount, namespace: demo, name: app, wait: true}
      register: deleted
    - name: Record results
      ansible.builtin.copy:
        dest: "{{ results_file }}"
        mode: "0600"
        content: >-
          {{ {'created': created.changed, 'again': again.changed, 'ssa': ssa.changed,
              'ssa_again': ssa_again.changed, 'relabel': relabel.changed,
              'info': info.resources | map(attribute='metadata.name') | list,
              'deleted': deleted.changed} | to_json }}
"""


@pytest.mark.slow
def test_kubernetes_core_k8s_and_k8s_info(kube_double, tmp_path):
    playbook = tmp_path / 'play.yml'
    playbook.write_text(PLAY)
    results = tmp_path / 'results.json'
    env = dict(os.environ, K8S_AUTH_KUBECONFIG=kube_double.kubeconfig_path, ANSIBLE_NOCOLOR='1', ANSIBLE_PIPELINING='1',
               ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'), ANSIBLE_PYTHON_INTERPRETER=os.path.join(VENV, 'python'))
    proc = subprocess.run([PLAYBOOK, '-i', 'localhost,', '-c', 'local', str(playbook), '-e', 'results_file=%s' % results],
                          capture_output=True, text=True, env=env, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    got = json.loads(results.read_text())
    assert got['created'] is True
    assert got['again'] is False
    assert got['ssa_again'] is False
    assert got['relabel'] is True
    assert got['info'] == ['app']
    assert got['deleted'] is True
    assert kube_double.objects.find('serviceaccounts', 'app', 'demo') is None
    role = kube_double.objects.get('roles', 'minter', 'demo')
    assert role['rules'] == [{'apiGroups': [''], 'resources': ['serviceaccounts/token'], 'verbs': ['create'], 'resourceNames': ['app']}]
    assert kube_double.count(method='PATCH', path_re='/serviceaccounts/app$') >= 1
