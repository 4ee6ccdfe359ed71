"""Which plugin files a minted token crosses, counted by tracing a real run (docs/development.md,
"The path of a token").

A file is on the path when one of its functions is on the call stack while the TokenRequest is
sent (module to HTTPS), or is called with the token in its arguments (a string, or inside a dict,
list or object it is given) after the answer arrives (HTTPS back to the module's result). The
sa_token module runs in this process (its ``main``, as ansible-core runs it, args from a file)
and the lookup through its ``LookupModule.run``, both against an API server double.

    .venv/bin/python tests/bench/token_path.py          # prints both paths and their counts
"""
import json
import os
import runpy
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests'))

COLLECTIONS = os.path.join(ROOT, 'build', 'pytest')   # tests/conftest.py links the tree there

PLUGINS = os.sep + os.path.join('plugins', '')


def _holds_jwt(value, depth=4):
    if isinstance(value, str):
        return value.startswith('eyJ') and value.count('.') == 2 and len(value) > 100
    if depth <= 0:
        return False
    if isinstance(value, dict):
        return any(_holds_jwt(v, depth - 1) for v in value.values())
    if isinstance(value, (list, tuple, set)):
        return any(_holds_jwt(v, depth - 1) for v in value)
    if hasattr(value, '__dict__') and not isinstance(value, type):
        return any(_holds_jwt(v, depth - 1) for v in vars(value).values())
    return False


class PathTracer:
    """Records plugin files: the stack at the TokenRequest's send, and frames given a token after it."""

    def __init__(self):
        self.to_server = []
        self.back = []
        self.answered = False
        self.ran = set()     # every plugin file with code that ran (for reference)

    def _file(self, frame):
        name = frame.f_code.co_filename
        return name.split(PLUGINS, 1)[1] if PLUGINS in name else None

    def profile(self, frame, event, _arg):
        if event != 'call':
            return
        name = self._file(frame)
        if name is None:
            return
        self.ran.add(name)
        if name == os.path.join('module_utils', 'transport.py') and frame.f_code.co_name == '_send' \
                and str(frame.f_locals.get('url', '')).endswith('/token') and not self.to_server:
            stack, current = [], frame
            while current is not None:
                file = self._file(current)
                if file and file not in stack:
                    stack.append(file)
                current = current.f_back
            self.to_server = list(reversed(stack))
            self.answered = True
            return
        if self.answered and name not in self.back and name not in self.to_server:
            if any(_holds_jwt(value) for value in list(frame.f_locals.values())):
                self.back.append(name)

    def __enter__(self):
        sys.setprofile(self.profile)
        threading.setprofile(self.profile)
        return self

    def __exit__(self, *exc):
        sys.setprofile(None)
        threading.setprofile(None)

    def files(self):
        return {'path': self.to_server + self.back, 'ran': sorted(self.ran)}


def module_path(kube, workdir, **extra):
    args = dict(name='sa-0', namespace='path', kubeconfig=kube.kubeconfig_path, **extra)
    path = os.path.join(workdir, 'args.json')
    with open(path, 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, handle)
    argv, stdout = sys.argv, sys.stdout
    sys.argv = ['sa_token', path]
    sys.stdout = open(os.devnull, 'w')
    try:
        with PathTracer() as tracer:
            try:
                runpy.run_module('ansible_collections.mcp.k8s.plugins.modules.sa_token', run_name='__main__')
            except SystemExit:
                pass
    finally:
        sys.stdout.close()
        sys.argv, sys.stdout = argv, stdout
    return tracer.files()


def lookup_path(kube):
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader, lookup_loader
    from ansible.template import Templar
    init_plugin_loader([COLLECTIONS])
    loader = DataLoader()
    lookup = lookup_loader.get('mcp.k8s.sa_token', loader=loader, templar=Templar(loader=loader))
    with PathTracer() as tracer:
        lookup.run(['sa-1'], variables={}, namespace='path', kubeconfig=kube.kubeconfig_path, cache=False)
    return tracer.files()


def part(which, kubeconfig_path, workdir):
    """One traced run in this process (a fresh one per run: nothing imported or cached before)."""
    class Kube:
        pass
    kube = Kube()
    kube.kubeconfig_path = kubeconfig_path
    if which == 'lookup':
        files = lookup_path(kube)
    else:
        sys.path.insert(0, COLLECTIONS)
        files = module_path(kube, workdir, **({'validate': True} if which == 'validate' else {}))
    print(json.dumps(files))


def main():
    if sys.argv[1:2] == ['--part']:
        return part(*sys.argv[2:5])
    import subprocess
    import conftest  # noqa: F401  (links the working tree as ansible_collections.mcp.k8s)
    from kube_double import KubeDouble
    rows = []
    with tempfile.TemporaryDirectory() as workdir, KubeDouble(os.path.join(workdir, 'double')) as kube:
        for name in ('sa-0', 'sa-1'):
            kube.create_service_account(name, 'path')
        for which, label in (('module', 'sa_token module'), ('validate', 'sa_token module, validate=true'),
                             ('lookup', 'sa_token lookup')):
            out = subprocess.run([sys.executable, __file__, '--part', which, kube.kubeconfig_path, workdir],
                                 check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
            rows.append((label, json.loads(out.strip().splitlines()[-1])))
    for label, files in rows:
        print('%s: %d files' % (label, len(files['path'])))
        print('  ' + ' -> '.join(files['path']))
        print('  (plugin files with code that ran in the task: %d)' % len(files['ran']))


if __name__ == '__main__':
    main()
