"""`make demo`: provision mcp-k8s-server against the project's Kubernetes API server double.

Builds and installs the collection as a user would, starts the double on loopback, runs
``ansible-playbook mcp.k8s.provision`` against it and leaves the written kubeconfig under
``.demo/``. The double is stopped at the end, on failure too. Point ``K8S_AUTH_KUBECONFIG``
at a real cluster's kubeconfig instead (``make demo KUBECONFIG_FOR_DEMO=path``) and the
same playbook runs there, unchanged. ``make demo CLUSTER=real`` runs it against a real
kube-apiserver built from Go modules (``tests/kube_real``; Go 1.26 needed, the first build
takes several minutes).
"""
import glob
import os
import shutil
import signal
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
DEMO = os.path.join(ROOT, '.demo')


def step(message):
    print('\n==> %s' % message, flush=True)


def run(command, **kwargs):
    return subprocess.run(command, check=True, **kwargs)


def install_collection():
    step('Building and installing the collection into .demo/collections')
    dist = os.path.join(DEMO, 'dist')
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', ROOT, '--output-path', dist, '--force'],
        stdout=subprocess.DEVNULL)
    tarball = sorted(glob.glob(os.path.join(dist, 'mcp-k8s-*.tar.gz')))[-1]
    collections = os.path.join(DEMO, 'collections')
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', tarball, '-p', collections,
         '--no-deps', '--force'], stdout=subprocess.DEVNULL)
    return collections


SERVERS = {
    # CLUSTER=...: (what it is, python -m package, the first word of its ready line)
    'double': ('the Kubernetes API server double', 'kube_double', 'kube-double'),
    'real': ('a real control plane (etcd, kube-apiserver, kube-controller-manager)', 'kube_real', 'kube-real'),
}


def start_server(kind):
    what, package, ready = SERVERS[kind]
    step('Starting %s on 127.0.0.1' % what)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, 'tests'))
    proc = subprocess.Popen([sys.executable, '-m', package, '--state-dir', os.path.join(DEMO, kind)],
                            stdout=subprocess.PIPE, text=True, env=env)
    for line in proc.stdout:
        if line.startswith(ready + ' ready'):
            fields = dict(part.split('=', 1) for part in line.split()[2:] if '=' in part)
            print('    API server %s, admin kubeconfig %s' % (fields['url'], fields['kubeconfig']))
            return proc, fields['kubeconfig']
    raise SystemExit('%s exited before it was ready (code %s).' % (what[0].upper() + what[1:], proc.wait()))


def show_with_kubectl(kubeconfig, args):
    """Run kubectl as the account and print what it answers (a denial is the point of the second)."""
    if not shutil.which('kubectl'):
        print('    (kubectl is not installed; skipped: kubectl %s)' % ' '.join(args))
        return
    proc = subprocess.run(['kubectl', '--kubeconfig', kubeconfig] + args, capture_output=True, text=True, check=False)
    print('    $ kubectl %s' % ' '.join(args))
    for line in (proc.stdout + proc.stderr).strip().splitlines() or ['(no output)']:
        print('    %s' % line)


def main():
    if os.path.isdir(DEMO):
        shutil.rmtree(DEMO)
    os.makedirs(DEMO)
    collections = install_collection()
    kubeconfig = os.environ.get('KUBECONFIG_FOR_DEMO')
    kind = os.environ.get('CLUSTER') or 'double'
    if kind not in SERVERS:
        raise SystemExit('CLUSTER=%s is not known: use CLUSTER=double (default) or CLUSTER=real.' % kind)
    server = None
    if not kubeconfig:
        server, kubeconfig = start_server(kind)
    try:
        step('ansible-playbook mcp.k8s.provision')
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, K8S_AUTH_KUBECONFIG=kubeconfig,
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR='1')
        written = os.path.join(DEMO, 'mcp-k8s-server.kubeconfig')
        result = subprocess.run([os.path.join(BIN, 'ansible-playbook'), 'mcp.k8s.provision',
                                 '-e', 'mcp_k8s_server_kubeconfig_path=%s' % written], env=env, check=False)
        if result.returncode:
            return result.returncode
        step('The account, with only its own rights (kubectl --kubeconfig .demo/mcp-k8s-server.kubeconfig)')
        show_with_kubectl(written, ['get', 'pods', '--all-namespaces'])
        show_with_kubectl(written, ['get', 'secrets'])
        return 0
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            step('Stopped %s' % SERVERS[kind][0])


if __name__ == '__main__':
    sys.exit(main())
