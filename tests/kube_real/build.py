"""Build kube-apiserver, kube-controller-manager and etcd from Go modules, once per machine.

The Go module in ``go/`` requires ``k8s.io/kubernetes`` at one pinned version and replaces
each of its staging modules with the published release of the same version. The binaries
are built into a temporary folder beside the cache and renamed into place only when all
three were built, so an interrupted or failed build never leaves a cache a later run trusts.

    python -m kube_real.build            # build if needed, print the bin folder
"""
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GO_MODULE = os.path.join(HERE, 'go')
PACKAGES = {
    'kube-apiserver': 'k8s.io/kubernetes/cmd/kube-apiserver',
    'kube-controller-manager': 'k8s.io/kubernetes/cmd/kube-controller-manager',
    'etcd': './cmd/etcd',
}


# What a cache folder must have been built with to be trusted: bump it when the way the
# binaries are built changes, so that every machine rebuilds once instead of running binaries
# that a test would take for the current recipe.
RECIPE = 'stamped-1'
# The packages Kubernetes' own build stamps (hack/lib/version.sh, kube::version::ldflags).
VERSION_PACKAGES = ('k8s.io/client-go/pkg/version', 'k8s.io/component-base/version')


class BuildError(Exception):
    """One sentence saying why the control plane cannot be built or started."""


def kubernetes_version():
    """The pinned ``k8s.io/kubernetes`` version, read from go/go.mod."""
    with open(os.path.join(GO_MODULE, 'go.mod'), encoding='utf-8') as handle:
        match = re.search(r'^\s*(?:require\s+)?k8s\.io/kubernetes\s+(v\S+)', handle.read(), re.M)
    if not match:
        raise BuildError('tests/kube_real/go/go.mod does not require k8s.io/kubernetes; restore it from git.')
    return match.group(1)


def cache_root():
    base = os.environ.get('MCP_K8S_CACHE') or os.path.join(
        os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache'), 'mcp-k8s')
    return base


def bin_dir(version=None):
    return os.path.join(cache_root(), 'kube-%s' % (version or kubernetes_version()), 'bin')


def _complete(folder):
    if not all(os.access(os.path.join(folder, name), os.X_OK) for name in PACKAGES):
        return False
    try:
        with open(os.path.join(folder, '.complete'), encoding='utf-8') as handle:
            return ('recipe %s' % RECIPE) in handle.read()
    except OSError:
        return False


def version_stamp(version, build_date=None):
    """The values Kubernetes' release build stamps into its binaries, for ``version``.

    gitCommit stays empty: the Go module proxy serves a release's source without the commit it
    was tagged from (its ``.info`` has no VCS origin), and a made-up value would be worse than
    none. gitTreeState is ``clean``: the module zip is the release's tree, unmodified."""
    match = re.match(r'^v(\d+)\.(\d+)\.\d+', version)
    if not match:
        raise BuildError('%s is not a Kubernetes release version (vMAJOR.MINOR.PATCH).' % version)
    if build_date is None:
        epoch = os.environ.get('SOURCE_DATE_EPOCH')
        moment = time.gmtime(int(epoch)) if epoch and epoch.isdigit() else time.gmtime()
        build_date = time.strftime('%Y-%m-%dT%H:%M:%SZ', moment)
    return {'gitVersion': version, 'gitMajor': match.group(1), 'gitMinor': match.group(2),
            'gitCommit': '', 'gitTreeState': 'clean', 'buildDate': build_date}


def ldflags(version, build_date=None):
    """``-ldflags`` for ``go build``: each stamp value in each version package, as
    kube::version::ldflags writes them."""
    stamp = version_stamp(version, build_date)
    return ' '.join("-X '%s.%s=%s'" % (package, key, value)
                    for package in VERSION_PACKAGES for key, value in sorted(stamp.items()))


def find_go():
    go = shutil.which('go')
    if go is None:
        for candidate in ('/usr/local/go/bin/go', '/usr/lib/go/bin/go'):
            if os.access(candidate, os.X_OK):
                go = candidate
                break
    if go is None:
        raise BuildError('Go is not installed (no "go" on PATH): install Go 1.26 or newer to build the '
                         'real control plane, or run only the double tier with MCP_K8S_REAL_CLUSTER=0.')
    return go


def ensure_binaries(out=sys.stderr):
    """Return the folder holding the three binaries, building them first if needed.

    Concurrent callers (pytest workers) wait on a lock file: one builds, the others then find
    the finished cache."""
    version = kubernetes_version()
    target = bin_dir(version)
    if _complete(target):
        return target
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    with open(os.path.join(parent, '.build.lock'), 'w', encoding='utf-8') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _complete(target):
            return target
        return _build(version, target, parent, out)


def _build(version, target, parent, out):
    go = find_go()
    staging = tempfile.mkdtemp(prefix='.bin-building-', dir=parent)
    env = dict(os.environ, CGO_ENABLED='0')
    env.setdefault('GOFLAGS', '-buildvcs=false')
    started = time.monotonic()
    flags = ldflags(version)
    try:
        for number, (name, package) in enumerate(sorted(PACKAGES.items()), 1):
            out.write('[kube_real] building %s %s (%d/%d; the first build takes several minutes)...\n'
                      % (name, version, number, len(PACKAGES)))
            out.flush()
            step = time.monotonic()
            proc = subprocess.run([go, 'build', '-trimpath', '-ldflags', flags, '-o', os.path.join(staging, name), package],
                                  cwd=GO_MODULE, env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                lines = [line for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
                raise BuildError('go build of %s (k8s.io/kubernetes %s) failed: %s'
                                 % (package, version, ' | '.join(lines[-5:]) or 'exit %d' % proc.returncode))
            out.write('[kube_real] built %s in %.0f s\n' % (name, time.monotonic() - step))
        with open(os.path.join(staging, '.complete'), 'w', encoding='utf-8') as handle:
            handle.write('%s built in %.0f s, recipe %s\n' % (version, time.monotonic() - started, RECIPE))
        if os.path.isdir(target):  # an old, incomplete folder: never trusted, replaced
            shutil.rmtree(target)
        os.rename(staging, target)
    finally:
        if os.path.isdir(staging):
            shutil.rmtree(staging, ignore_errors=True)
    out.write('[kube_real] control plane %s built in %.0f s into %s\n' % (version, time.monotonic() - started, target))
    return target


def main():
    try:
        print(ensure_binaries())
    except BuildError as exc:
        sys.stderr.write('%s\n' % exc)
        return 2
    except KeyboardInterrupt:
        sys.stderr.write('Build interrupted; nothing was cached.\n')
        return 130
    return 0


if __name__ == '__main__':
    sys.exit(main())
