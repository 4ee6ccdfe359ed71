"""Make the working tree importable as ``ansible_collections.mcp.k8s`` and load the double.

Unit tests import the collection the way Ansible does. Rather than copying the tree, a
symlink ``build/pytest/ansible_collections/mcp/k8s`` points back at the repository root and
that folder goes first on ``sys.path``; ``tests/`` goes there too so ``kube_double`` imports.
"""
import os
import sys

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
COLLECTIONS = os.path.join(ROOT, 'build', 'pytest')


def _link_collection():
    namespace = os.path.join(COLLECTIONS, 'ansible_collections', 'mcp')
    link = os.path.join(namespace, 'k8s')
    os.makedirs(namespace, exist_ok=True)
    if not os.path.islink(link):
        try:
            os.symlink(ROOT, link)
        except FileExistsError:  # another worker made it first
            pass


_link_collection()
for path in (TESTS, COLLECTIONS):
    if path not in sys.path:
        sys.path.insert(0, path)

pytest_plugins = ['kube_double.pytest_plugin', 'kube_real.pytest_plugin']
