"""`make targets`: ansible-test integration targets against a real control plane.

Copies the tracked tree to build/targets/ansible_collections/mcp/k8s (where ansible-test wants
a collection), starts a real control plane (tests/kube_real), names its kubeconfig in
tests/integration/integration_config.yml (``mcp_k8s_kubeconfig``), runs ``ansible-test
integration`` in this virtual environment, and stops the control plane. Extra arguments go to
ansible-test (a target name, ``-v``, ...).

Against your own cluster, without this script: see docs/testing-against-a-cluster.md.
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# One copy per Kubernetes release asked for, so that `make matrix` runs of two releases never share one.
COPY = os.path.join(ROOT, 'build', 'targets' + ('-' + os.environ['MCP_K8S_KUBE_VERSION'].strip()
                                                if os.environ.get('MCP_K8S_KUBE_VERSION', '').strip() else ''),
                    'ansible_collections', 'mcp', 'k8s')
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, 'tests'))

from kube_real import BuildError, ControlPlane  # noqa: E402  pylint: disable=wrong-import-position


def copy_tree():
    shutil.rmtree(os.path.dirname(os.path.dirname(COPY)), ignore_errors=True)
    files = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split('\0')
    for name in filter(None, files):
        source = os.path.join(ROOT, name)
        if os.path.isfile(source):
            os.makedirs(os.path.dirname(os.path.join(COPY, name)), exist_ok=True)
            shutil.copy2(source, os.path.join(COPY, name))
    # The copy lies inside this repository's ignored build folder: its own git index lets
    # ansible-test list its files instead of finding them all ignored.
    subprocess.run(['git', 'init', '-q'], cwd=COPY, check=True)
    subprocess.run(['git', 'add', '-A'], cwd=COPY, check=True)


def main(args):
    copy_tree()
    state = tempfile.mkdtemp(prefix='kube-real-targets-')
    try:
        plane = ControlPlane(state).start()
    except BuildError as exc:
        sys.stderr.write('%s\n' % exc)
        return 2
    try:
        print('Real control plane at %s (kubeconfig %s)' % (plane.url, plane.kubeconfig_path), flush=True)
        with open(os.path.join(COPY, 'tests', 'integration', 'integration_config.yml'), 'w', encoding='utf-8') as handle:
            handle.write('mcp_k8s_kubeconfig: %s\n' % plane.kubeconfig_path)
        env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get('PATH', ''), ANSIBLE_NOCOLOR='1')
        env.pop('K8S_AUTH_KUBECONFIG', None)
        return subprocess.run([os.path.join(BIN, 'ansible-test'), 'integration', '--local', '--color', 'no',
                               '--python', '%d.%d' % sys.version_info[:2]] + list(args),
                              cwd=COPY, env=env, check=False).returncode
    finally:
        plane.stop()
        plane.remove_state()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
