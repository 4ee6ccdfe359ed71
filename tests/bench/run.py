"""`make bench`: minting tokens with mcp.k8s against `kubectl create token` and the bare client.

Everything runs in one process tree against one API server double, and the token items again
against a real kube-apiserver (tests/kube_real, built from Go modules), so the ratios compare
like with like. Each figure is the median of several repetitions with its spread (min-max).
Writes docs/benchmarks.md and docs/benchmarks.png. Not part of `make test`.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, 'tests'))

from kube_double import KubeDouble  # noqa: E402  (needs tests/ on sys.path)
from kube_real import ControlPlane  # noqa: E402

NAMESPACE = 'bench'
TOKEN_PATH = r'/serviceaccounts/[^/]+/token$'

BARE_CLIENT = r'''
import sys, time
started = time.perf_counter()
from kubernetes import client, config
config.load_kube_config(sys.argv[1])
api = client.CoreV1Api()
Model = getattr(client, 'AuthenticationV1TokenRequest', None) or client.V1TokenRequest
imported = time.perf_counter()
for name in sys.argv[3:]:
    body = Model(spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600))
    api.create_namespaced_service_account_token(name, sys.argv[2], body)
done = time.perf_counter()
print('%f %f' % (imported - started, done - imported))
'''


class Progress:
    """One status line on a terminal; plain lines otherwise."""

    def __init__(self, total):
        self.total, self.done, self.tty = total, 0, sys.stderr.isatty()

    def step(self, text):
        self.done += 1
        line = '[%2d/%d] %s' % (self.done, self.total, text)
        if self.tty:
            sys.stderr.write('\r\033[K' + line)
        else:
            sys.stderr.write(line + '\n')
        sys.stderr.flush()

    def close(self):
        if self.tty:
            sys.stderr.write('\n')


def summary(values):
    return {'median': statistics.median(values), 'min': min(values), 'max': max(values), 'n': len(values)}


class Bench:
    def __init__(self, kube, workdir, collections, reps):
        self.kube, self.workdir, self.collections, self.reps = kube, workdir, collections, reps
        self.counter = 0

    # --- tools ---------------------------------------------------------------
    def env(self, timings=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'K8S_AUTH_'))}
        env.update(ANSIBLE_COLLECTIONS_PATH=self.collections, ANSIBLE_NOCOLOR='1',
                   ANSIBLE_PYTHON_INTERPRETER=sys.executable, K8S_AUTH_KUBECONFIG=self.kube.kubeconfig_path,
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'callback_plugins'),
                   ANSIBLE_CALLBACKS_ENABLED='task_timer', ANSIBLE_LOCALHOST_WARNING='0',
                   ANSIBLE_INVENTORY_UNPARSED_WARNING='0', PATH=BIN + os.pathsep + os.environ['PATH'])
        if timings:
            env['BENCH_TIMINGS'] = timings
        return env

    def playbook(self, text, extra=None):
        """Run a playbook; return (wall seconds, task timings)."""
        self.counter += 1
        path = os.path.join(self.workdir, 'play-%d.yml' % self.counter)
        timings = os.path.join(self.workdir, 'timings-%d.json' % self.counter)
        with open(path, 'w') as handle:
            handle.write(text)
        command = [os.path.join(BIN, 'ansible-playbook'), path]
        if extra:
            command += ['-e', json.dumps(extra)]
        started = time.perf_counter()
        proc = subprocess.run(command, env=self.env(timings), capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if proc.returncode:
            raise SystemExit('playbook failed:\n%s\n%s' % (proc.stdout[-3000:], proc.stderr[-2000:]))
        with open(timings) as handle:
            return wall, json.load(handle)

    def provision_accounts(self, count):
        from kubernetes import client, config
        api = client.CoreV1Api(config.new_client_from_config(self.kube.kubeconfig_path))
        try:
            api.create_namespace({'metadata': {'name': NAMESPACE}})
        except client.ApiException as exc:
            if exc.status != 409:
                raise
        for index in range(count):
            api.create_namespaced_service_account(NAMESPACE, {'metadata': {'name': 'sa-%d' % index}})

    def token_requests(self):
        return self.kube.count(method='POST', path_re=TOKEN_PATH)

    # --- measurements ----------------------------------------------------------
    def kubectl_loop(self, names):
        started = time.perf_counter()
        for name in names:
            subprocess.run(['kubectl', '--kubeconfig', self.kube.kubeconfig_path, 'create', 'token', name,
                            '-n', NAMESPACE, '--duration', '1h'], check=True, capture_output=True)
        return time.perf_counter() - started

    def bare_client(self, names):
        started = time.perf_counter()
        out = subprocess.run([sys.executable, '-c', BARE_CLIENT, self.kube.kubeconfig_path, NAMESPACE] + names,
                             check=True, capture_output=True, text=True).stdout.split()
        total = time.perf_counter() - started
        return total, float(out[0]), float(out[1])

    def lookup_batch(self, names):
        play = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: batch
      ansible.builtin.set_fact:
        tokens: "{{ query('mcp.k8s.sa_token', *names, namespace='%s', duration='1h') }}"
      no_log: true
    - name: check
      ansible.builtin.assert:
        that: tokens | length == names | length
''' % NAMESPACE
        before = self.token_requests()
        wall, timings = self.playbook(play, {'names': names})
        minted = self.token_requests() - before
        assert minted == len(names), (minted, len(names))
        return task_seconds(timings, 'batch'), wall

    def one_token_tasks(self, repeats):
        tasks = []
        for index in range(repeats):
            tasks.append('''
    - name: module %d
      mcp.k8s.sa_token:
        name: sa-0
        namespace: %s
        duration: 1h
      no_log: true
    - name: kubectl %d
      ansible.builtin.command: kubectl --kubeconfig {{ kubeconfig }} create token sa-0 -n %s --duration 1h
      changed_when: true
      no_log: true''' % (index, NAMESPACE, index, NAMESPACE))
        play = '- hosts: localhost\n  gather_facts: false\n  tasks:' + ''.join(tasks) + '\n'
        timings = self.playbook(play, {'kubeconfig': self.kube.kubeconfig_path})[1]
        module = [t['seconds'] for t in timings if t['task'].startswith('module ')]
        kubectl = [t['seconds'] for t in timings if t['task'].startswith('kubectl ')]
        return module, kubectl

    def lazy_variable(self, reads):
        play = '''
- hosts: localhost
  gather_facts: false
  vars:
    bench_token: "{{ lookup('mcp.k8s.sa_token', 'sa-1', namespace='%s', duration='1h') }}"
  tasks:
    - name: read the variable
      ansible.builtin.assert:
        that: bench_token | length > 100
        quiet: true
      loop: "{{ range(%d) | list }}"
      no_log: true
''' % (NAMESPACE, reads)
        before = self.token_requests()
        self.playbook(play)
        return self.token_requests() - before

    def reuse_check(self, tasks):
        """A given, good token reused ``tasks`` times by the lookup (one task each) and by the module:
        task times and the requests each made (the cluster's keys: once per run for the lookup, once
        per module process), and the signature check alone in process."""
        given = self.kube.mint_token('sa-2', NAMESPACE)
        lookups = ''.join('''
    - name: lookup %d
      ansible.builtin.set_fact:
        kept: "{{ lookup('mcp.k8s.sa_token', 'sa-2', namespace='%s', token=given) }}"
      no_log: true''' % (index, NAMESPACE) for index in range(tasks))
        modules = ''.join('''
    - name: module %d
      mcp.k8s.sa_token: {name: sa-2, namespace: %s, token: "{{ given }}"}
      no_log: true''' % (index, NAMESPACE) for index in range(tasks))
        out = {'tasks': tasks}
        for name, body in (('lookup', lookups), ('module', modules)):
            before = dict((what, self.kube.count(method=method, path_re=path)) for what, method, path in REUSE_REQUESTS)
            timings = self.playbook('- hosts: localhost\n  gather_facts: false\n  tasks:' + body + '\n',
                                    {'given': given})[1]
            out[name] = {'task': summary([t['seconds'] for t in timings if t['task'].startswith(name + ' ')]),
                         'requests': dict((what, self.kube.count(method=method, path_re=path) - before[what])
                                          for what, method, path in REUSE_REQUESTS)}
        out['verify'], out['keys_read'] = (summary(values) for values in verify_seconds(self.kube, given, self.collections))
        return out

    def role_runs(self):
        kubeconfig = os.path.join(self.workdir, 'mcp.kubeconfig')
        extra = {'mcp_k8s_server_kubeconfig_path': kubeconfig}
        first = self.playbook('- import_playbook: mcp.k8s.provision\n', extra)[0]
        second = self.playbook('- import_playbook: mcp.k8s.provision\n', extra)[0]
        self.playbook('- import_playbook: mcp.k8s.deprovision\n', extra)
        return first, second

    def reference_runs(self):
        """What users write today for the same account: four kubernetes.core.k8s items and
        ``kubectl create token`` (first run, then unchanged second run, then cleanup)."""
        extra = {'kubeconfig': self.kube.kubeconfig_path}
        first = self.playbook(REFERENCE_PLAYBOOK, extra)[0]
        second = self.playbook(REFERENCE_PLAYBOOK, extra)[0]
        self.playbook(REFERENCE_CLEANUP, extra)
        return first, second


# The hand-written reference of the role item: namespace, account, read-only ClusterRole,
# binding (kubernetes.core.k8s, as users write it) and a token (kubectl create token).
REFERENCE_PLAYBOOK = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Namespace
      kubernetes.core.k8s: {state: present, definition: {apiVersion: v1, kind: Namespace, metadata: {name: reference}}}
    - name: ServiceAccount
      kubernetes.core.k8s:
        state: present
        definition: {apiVersion: v1, kind: ServiceAccount, metadata: {name: mcp-k8s-server, namespace: reference}}
    - name: ClusterRole
      kubernetes.core.k8s:
        state: present
        definition:
          apiVersion: rbac.authorization.k8s.io/v1
          kind: ClusterRole
          metadata: {name: reference-mcp-k8s-server}
          rules:
            - {apiGroups: [""], resources: [pods, services, configmaps, namespaces, nodes, events], verbs: [get, list, watch]}
            - {apiGroups: [""], resources: [pods/log], verbs: [get]}
            - {apiGroups: [apps], resources: [deployments, statefulsets, daemonsets, replicasets], verbs: [get, list, watch]}
    - name: ClusterRoleBinding
      kubernetes.core.k8s:
        state: present
        definition:
          apiVersion: rbac.authorization.k8s.io/v1
          kind: ClusterRoleBinding
          metadata: {name: reference-mcp-k8s-server}
          subjects: [{kind: ServiceAccount, name: mcp-k8s-server, namespace: reference}]
          roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reference-mcp-k8s-server}
    - name: Token
      ansible.builtin.command: kubectl --kubeconfig {{ kubeconfig }} create token mcp-k8s-server -n reference --duration 1h
      changed_when: true
      no_log: true
'''
REFERENCE_CLEANUP = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Remove the reference objects
      kubernetes.core.k8s: {state: absent, api_version: "{{ item.0 }}", kind: "{{ item.1 }}", name: "{{ item.2 }}"}
      loop:
        - [rbac.authorization.k8s.io/v1, ClusterRoleBinding, reference-mcp-k8s-server]
        - [rbac.authorization.k8s.io/v1, ClusterRole, reference-mcp-k8s-server]
        - [v1, Namespace, reference]
'''


REUSE_REQUESTS = (('discovery', 'GET', r'^/\.well-known/openid-configuration$'), ('jwks', 'GET', r'^/openid/v1/jwks$'),
                  ('account', 'GET', r'/serviceaccounts/sa-2$'), ('token_requests', 'POST', TOKEN_PATH))


def verify_seconds(kube, token, collections, reps=200, reads=20):
    """Seconds per signature and issuer check of ``token`` against the cluster's keys, and seconds per
    read of those keys (discovery document and JWKS: the two GETs), in process (the installed
    collection's code)."""
    if collections not in sys.path:
        sys.path.insert(0, collections)
    from ansible_collections.mcp.k8s.plugins.module_utils import connection, jwks
    cluster = connection.get_cluster({'kubeconfig': kube.kubeconfig_path})
    read_times = []
    for dummy in range(reads):
        store = jwks.KeyStore()
        started = time.perf_counter()
        jwks.published(cluster, store)
        read_times.append(time.perf_counter() - started)
    times = []
    for dummy in range(reps):
        started = time.perf_counter()
        assert jwks.signed_by(cluster, token, store) == (True, None)
        times.append(time.perf_counter() - started)
    return times, read_times


def reuse_section(results):
    """Section 7 of docs/benchmarks.md: what checking a reused token costs."""
    lines = ['## 7. Reusing a given token: the signature check (issue 21)', '',
             'A good token given %d times (one task each); requests counted by the server.' % results['double']['tasks'],
             '', '| server | how | task time | discovery GETs | JWKS GETs | ServiceAccount GETs | TokenRequests |',
             '|---|---|---|---|---|---|---|']
    for tier in ('double', 'real'):
        if tier not in results:
            continue
        for how, label in (('lookup', "`lookup(..., token=given)`"), ('module', '`mcp.k8s.sa_token` with `token`')):
            entry = results[tier][how]
            counts = entry['requests']
            lines.append('| %s | %s | %s | %d | %d | %d | %d |' % (
                tier, label, spread(entry['task']), counts['discovery'], counts['jwks'], counts['account'],
                counts['token_requests']))
    for tier in ('double', 'real'):
        if tier in results:
            lines += ['', '%s: reading the keys (the discovery document and the JWKS, two GETs, once per run for the lookup '
                      'and once per module process) %s; the signature and issuer check of one token, in process, %s.'
                      % (tier, spread(results[tier]['keys_read']), spread(results[tier]['verify'], scale=1e6, unit='µs'))]
    lines += ['', 'Task times include everything a task does (and the load of the machine); the added cost of the check is '
              'the key read once per run or module process plus the in-process check per token.', '']
    return lines


def update_reuse_section(path, results):
    """Put section 7 into an existing docs/benchmarks.md, leaving its other figures as they are."""
    with open(path) as handle:
        text = handle.read()
    section = '\n'.join(reuse_section(results)) + '\n'
    start = text.find('## 7. ')
    if start >= 0:
        end = text.find('## Goals', start)
        text = text[:start] + section + text[end:]
    else:
        at = text.find('## Goals')
        text = text[:at] + section + text[at:]
    with open(path, 'w') as handle:
        handle.write(text)


def run_reuse(args):
    """Only section 7 (``--only reuse``): on the double, and on the real control plane unless --no-real."""
    results = {}
    with tempfile.TemporaryDirectory(prefix='mcp-bench-') as workdir:
        collections = install_collection(workdir)
        with KubeDouble(os.path.join(workdir, 'double')) as kube:
            bench = Bench(kube, workdir, collections, args.reps)
            bench.provision_accounts(3)
            results['double'] = bench.reuse_check(args.task_reps)
        if args.real:
            with ControlPlane(os.path.join(workdir, 'real')) as kube:
                bench = Bench(kube, workdir, collections, args.reps)
                bench.provision_accounts(3)
                results['real'] = bench.reuse_check(args.task_reps)
    return results


def task_seconds(timings, name):
    return sum(t['seconds'] for t in timings if t['task'] == name)


def install_collection(workdir):
    dist = os.path.join(workdir, 'dist')
    subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', ROOT, '--output-path', dist],
                   check=True, capture_output=True)
    tarball = os.path.join(dist, sorted(os.listdir(dist))[-1])
    path = os.path.join(workdir, 'collections')
    subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', tarball, '-p', path, '--no-deps'],
                   check=True, capture_output=True)
    return path


def token_items(bench, args, progress, label=''):
    """The token measurements (items 1 and 3): the lookup, the bare client and kubectl."""
    names = ['sa-%d' % index for index in range(args.batch)]
    kubectl, bare, bare_import, lookup = [], [], [], []
    for rep in range(args.reps):
        progress.step('%skubectl create token x %d (rep %d)' % (label, args.batch, rep + 1))
        kubectl.append(bench.kubectl_loop(names))
        progress.step('%sbare kubernetes client x %d (rep %d)' % (label, args.batch, rep + 1))
        total, imported = bench.bare_client(names)[:2]
        bare.append(total)
        bare_import.append(imported)
        progress.step('%slookup query x %d (rep %d)' % (label, args.batch, rep + 1))
        lookup.append(bench.lookup_batch(names)[0])
    progress.step('%sone token: module task against kubectl command task (x%d)' % (label, args.task_reps))
    module, kubectl_task = bench.one_token_tasks(args.task_reps)
    return {'batch': {'n': args.batch, 'kubectl': summary(kubectl), 'bare': summary(bare),
                      'bare_import': summary(bare_import), 'lookup': summary(lookup)},
            'one_token': {'module': summary(module), 'kubectl': summary(kubectl_task)}}


def run(args):
    results = {}
    sizes = [10, 100, 1000]
    steps = 3 * args.reps + len(sizes) * args.reps + 1 + 1 + args.role_reps + 1 + 1 + 1
    if args.real:
        steps += 3 * args.reps + 2
    progress = Progress(steps)
    with tempfile.TemporaryDirectory(prefix='mcp-bench-') as workdir:
        collections = install_collection(workdir)
        with KubeDouble(os.path.join(workdir, 'double')) as kube:
            bench = Bench(kube, workdir, collections, args.reps)
            bench.provision_accounts(max(sizes))
            results.update(token_items(bench, args, progress))

            scaling = {}
            for size in sizes:
                per_token = []
                for rep in range(args.reps):
                    progress.step('lookup scaling x %d (rep %d)' % (size, rep + 1))
                    per_token.append(bench.lookup_batch(['sa-%d' % i for i in range(size)])[0] / size)
                scaling[size] = summary(per_token)
            results['scaling'] = scaling

            progress.step('a lookup variable read 50 times')
            results['lazy_variable'] = {'reads': 50, 'token_requests': bench.lazy_variable(50)}

            firsts, seconds, ref_firsts, ref_seconds = [], [], [], []
            for rep in range(args.role_reps):
                progress.step('role end to end and its hand-written reference (rep %d)' % (rep + 1))
                first, second = bench.role_runs()
                firsts.append(first)
                seconds.append(second)
                first, second = bench.reference_runs()
                ref_firsts.append(first)
                ref_seconds.append(second)
            results['role'] = {'first': summary(firsts), 'second': summary(seconds),
                               'reference_first': summary(ref_firsts), 'reference_second': summary(ref_seconds)}
            progress.step('reusing a given token: the signature check')
            results['reuse'] = {'double': bench.reuse_check(args.task_reps)}
        if args.real:
            progress.step('starting the real control plane (tests/kube_real)')
            with ControlPlane(os.path.join(workdir, 'real')) as kube:
                bench = Bench(kube, workdir, collections, args.reps)
                bench.provision_accounts(args.batch)
                results['real'] = token_items(bench, args, progress, label='real: ')
                results['reuse']['real'] = bench.reuse_check(args.task_reps)
        progress.step('writing docs/benchmarks.md')
    progress.close()
    return results


def ms(seconds):
    return '%.1f ms' % (seconds * 1000)


def spread(entry, scale=1.0, unit='ms'):
    factor = 1000 * scale if unit == 'ms' else scale
    values = (entry['median'] * factor, unit, entry['min'] * factor, entry['max'] * factor, entry['n'])
    return '%.1f %s (%.1f-%.1f, n=%d)' % values


def goals(results):
    rows = token_goals(results)
    rows.insert(2, ('a lookup variable read 50 times makes exactly one TokenRequest',
                    str(results['lazy_variable']['token_requests']),
                    results['lazy_variable']['token_requests'] == 1))
    role = results['role']
    rows += [('role first run no slower than the hand-written reference (ratio <= 1.0)',
              '%.2fx' % (role['first']['median'] / role['reference_first']['median']),
              role['first']['median'] <= role['reference_first']['median']),
             ('role unchanged second run no slower than the reference run again (ratio <= 1.0)',
              '%.2fx' % (role['second']['median'] / role['reference_second']['median']),
              role['second']['median'] <= role['reference_second']['median'])]
    if 'real' in results:
        rows += [('real kube-apiserver: ' + text, shown, met) for text, shown, met in token_goals(results['real'])]
    return rows


def token_goals(results):
    batch = results['batch']
    n = batch['n']
    per_kubectl = batch['kubectl']['median'] / n
    per_bare = batch['bare']['median'] / n
    per_lookup = batch['lookup']['median'] / n
    one = results['one_token']
    return [
        ('lookup batch of %d at least 30x faster per token than the kubectl loop' % n,
         '%.1fx' % (per_kubectl / per_lookup), per_kubectl / per_lookup >= 30),
        ('lookup batch at most 1.5x the bare client loop (both with imports)',
         '%.2fx' % (per_lookup / per_bare), per_lookup / per_bare <= 1.5),
        ('module task at most 1.5x the kubectl command task',
         '%.2fx' % (one['module']['median'] / one['kubectl']['median']),
         one['module']['median'] / one['kubectl']['median'] <= 1.5),
    ]


def write_chart(results, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    batch = results['batch']
    n = batch['n']
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    labels = ['kubectl create token\n(shell loop)', 'bare kubernetes\nclient loop', "query('mcp.k8s.sa_token')"]
    values = [batch[k]['median'] / n * 1000 for k in ('kubectl', 'bare', 'lookup')]
    errors = [[(batch[k]['median'] - batch[k]['min']) / n * 1000 for k in ('kubectl', 'bare', 'lookup')],
              [(batch[k]['max'] - batch[k]['median']) / n * 1000 for k in ('kubectl', 'bare', 'lookup')]]
    left.bar(labels, values, yerr=errors, color=['#999999', '#5b8bd0', '#d0705b'], capsize=4)
    left.set_yscale('log')
    left.set_ylabel('ms per token (log scale, imports included)')
    left.set_title('%d tokens for %d service accounts' % (n, n))
    for index, value in enumerate(values):
        left.annotate('%.1f' % value, (index, value), ha='center', va='bottom')
    sizes = sorted(results['scaling'], key=int)
    right.plot([int(s) for s in sizes], [results['scaling'][s]['median'] * 1000 for s in sizes], marker='o',
               color='#d0705b')
    right.set_xscale('log')
    right.set_xlabel('service accounts in one query')
    right.set_ylabel('ms per token')
    right.set_title('lookup scaling')
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_report(results, path, chart_name, elapsed):
    batch = results['batch']
    n = batch['n']
    lines = [
        '# Benchmarks',
        '',
        'Written by `make bench` (tests/bench/run.py) on %s, Python %s, %d cores, in %.0f s. All figures come '
        'from one run against one API server double (tests/kube_double) on loopback, and section 6 from the same '
        'run against real kube-apiserver (tests/kube_real); each is the median of '
        'its repetitions, with min–max and the number of repetitions. Do not edit by hand: run `make bench`.'
        % (time.strftime('%Y-%m-%d'), platform.python_version(), os.cpu_count(), elapsed),
        '',
        '![benchmarks](%s)' % chart_name,
        '',
        '## 1. %d tokens for %d service accounts' % (n, n),
        '',
        '| how | total | per token | ratio to the lookup |',
        '|---|---|---|---|',
    ]
    lookup_per = batch['lookup']['median'] / n
    for key, label in (('kubectl', '`kubectl create token` in a shell loop'),
                       ('bare', 'bare kubernetes client loop, one process (import %s)' % ms(batch['bare_import']['median'])),
                       ('lookup', "one `query('mcp.k8s.sa_token', ...)` task (import included)")):
        per = batch[key]['median'] / n
        lines.append('| %s | %s | %s | %.2fx |' % (label, spread(batch[key], unit='s'), ms(per), per / lookup_per))
    lines += ['', '## 2. Lookup scaling', '', '| service accounts | time per token |', '|---|---|']
    for size in sorted(results['scaling'], key=int):
        lines.append('| %s | %s |' % (size, spread(results['scaling'][size])))
    one = results['one_token']
    lines += ['', '## 3. One token in a playbook (task time)', '', '| task | time |', '|---|---|',
              '| `mcp.k8s.sa_token` module | %s |' % spread(one['module']),
              '| `ansible.builtin.command: kubectl create token` | %s |' % spread(one['kubectl']),
              '', '## 4. A lookup in `vars:` read %d times' % results['lazy_variable']['reads'], '',
              'TokenRequests the API server saw: **%d**.' % results['lazy_variable']['token_requests'],
              '', '## 5. The role end to end (`ansible-playbook mcp.k8s.provision`, wall time)', '',
              '| run | time |', '|---|---|',
              '| first (creates everything, mints) | %s |' % spread(results['role']['first'], unit='s'),
              '| second (nothing changes, token reused) | %s |' % spread(results['role']['second'], unit='s'),
              '| reference first: 4 `kubernetes.core.k8s` items + `kubectl create token` | %s |'
              % spread(results['role']['reference_first'], unit='s'),
              '| reference second (same playbook again) | %s |' % spread(results['role']['reference_second'], unit='s'),
              '']
    if 'real' in results:
        real = results['real']
        real_lookup = real['batch']['lookup']['median'] / n
        lines += ['## 6. The token items against real kube-apiserver (tests/kube_real, same run)', '',
                  '| how | total | per token | ratio to the lookup |', '|---|---|---|---|']
        for key, label in (('kubectl', '`kubectl create token` in a shell loop'),
                           ('bare', 'bare kubernetes client loop, one process'),
                           ('lookup', "one `query('mcp.k8s.sa_token', ...)` task")):
            per = real['batch'][key]['median'] / n
            row = (label, spread(real['batch'][key], unit='s'), ms(per), per / real_lookup)
            lines.append('| %s | %s | %s | %.2fx |' % row)
        lines += ['', '| one token in a playbook | time |', '|---|---|',
                  '| `mcp.k8s.sa_token` module | %s |' % spread(real['one_token']['module']),
                  '| `ansible.builtin.command: kubectl create token` | %s |' % spread(real['one_token']['kubectl']), '']
    if 'reuse' in results:
        lines += reuse_section(results['reuse'])
    lines += ['## Goals', '', '| goal | measured | met |', '|---|---|---|']
    for text, shown, met in goals(results):
        lines.append('| %s | %s | %s |' % (text, shown, 'yes' if met else '**no**'))
    lines += ['', '```json', json.dumps(results, indent=1, sort_keys=True), '```', '']
    with open(path, 'w') as handle:
        handle.write('\n'.join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--reps', type=int, default=3, help='repetitions of each batch measurement')
    parser.add_argument('--task-reps', type=int, default=7, help='repetitions of the one-token tasks')
    parser.add_argument('--role-reps', type=int, default=5, help='repetitions of the role runs')
    parser.add_argument('--batch', type=int, default=200, help='service accounts in the batch comparison')
    parser.add_argument('--output', default=os.path.join(ROOT, 'docs', 'benchmarks.md'))
    parser.add_argument('--no-real', dest='real', action='store_false',
                        help='leave out the token items against the real control plane')
    parser.add_argument('--only', choices=['reuse'],
                        help='run one case and update only its section of the output (reuse: section 7)')
    args = parser.parse_args()
    if args.only == 'reuse':
        results = run_reuse(args)
        update_reuse_section(args.output, results)
        print(json.dumps(results, indent=1, sort_keys=True))
        return
    started = time.perf_counter()
    results = run(args)
    chart = os.path.splitext(args.output)[0] + '.png'
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    write_chart(results, chart)
    write_report(results, args.output, os.path.basename(chart), time.perf_counter() - started)
    for text, shown, met in goals(results):
        print('%-4s %s: %s' % ('ok' if met else 'MISS', text, shown))
    print('wrote %s and %s' % (os.path.relpath(args.output, ROOT), os.path.relpath(chart, ROOT)))


if __name__ == '__main__':
    main()
