"""Build kube-apiserver, kube-controller-manager and etcd from Go modules, once per machine
and Kubernetes release.

The Go module in ``go/`` requires ``k8s.io/kubernetes`` at one pinned version and replaces
each of its staging modules with the published release of the same version. Another release
is built from the same sources (``go/cmd``, ``go/tools.go``) with its own go.mod and go.sum
(``go build -modfile``): committed under ``versions/<minor>/`` for the releases of
versions.RELEASES, else generated into the cache (:func:`generate_module`). The binaries are
built into a temporary folder beside the cache and renamed into place only when all three were
built, so an interrupted or failed build never leaves a cache a later run trusts.

    python -m kube_real build [--kube-version V]   # build if needed, print the bin folder
    python -m kube_real module V                   # (re)generate versions/<minor>/go.mod, go.sum
"""
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from . import versions

HERE = os.path.dirname(os.path.abspath(__file__))
GO_MODULE = os.path.join(HERE, 'go')
VERSIONS_DIR = os.path.join(HERE, 'versions')
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


def selected_version():
    """The release to run: ``$MCP_K8S_KUBE_VERSION`` (a release or a minor), else the pinned one."""
    wanted = os.environ.get(versions.ENV, '').strip()
    if not wanted:
        return kubernetes_version()
    try:
        return versions.release(wanted)
    except ValueError as exc:
        raise BuildError('%s=%s: %s' % (versions.ENV, wanted, exc)) from None


def cache_root():
    base = os.environ.get('MCP_K8S_CACHE') or os.path.join(
        os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache'), 'mcp-k8s')
    return base


def bin_dir(version=None):
    return os.path.join(cache_root(), 'kube-%s' % (version or selected_version()), 'bin')


def build_seconds(version):
    """How long the cached build of ``version`` took (from its marker), or None."""
    try:
        with open(os.path.join(bin_dir(version), '.complete'), encoding='utf-8') as handle:
            match = re.search(r'built in (\d+) s', handle.read())
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _required(gomod_text, module):
    match = re.search(r'^\s*(?:require\s+)?%s\s+(v\S+)' % re.escape(module), gomod_text, re.M)
    return match.group(1) if match else None


def module_file(version):
    """The go.mod to build ``version`` with: go/go.mod for the pinned release, the committed
    versions/<minor>/go.mod when it requires ``version``, else one generated into the cache."""
    if version == kubernetes_version():
        return os.path.join(GO_MODULE, 'go.mod')
    committed = os.path.join(VERSIONS_DIR, versions.minor_of(version), 'go.mod')
    if os.path.exists(committed):
        with open(committed, encoding='utf-8') as handle:
            if _required(handle.read(), 'k8s.io/kubernetes') == version:
                return committed
    generated = os.path.join(cache_root(), 'modules', version, 'go.mod')
    if not (os.path.exists(generated) and os.path.exists(generated[:-len('.mod')] + '.sum')):
        generate_module(version, os.path.dirname(generated))
    return generated


URL_RE = re.compile(r'https?://[^/\s]+')


def go_said(proc):
    """The last lines go printed, on one line, with the address of the module proxy left out
    (its name belongs to the machine's set-up, not in a table or a commit)."""
    lines = [line for line in (proc.stderr + '\n' + proc.stdout).splitlines() if line.strip()]
    return URL_RE.sub('<module proxy>', ' | '.join(lines[-5:])) or 'exit %d' % proc.returncode


def _go(args, cwd, env=None, what=None):
    proc = subprocess.run([find_go()] + args, cwd=cwd, env=env or _go_env(), capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise BuildError('go %s%s failed: %s' % (' '.join(args[:2]), ' (%s)' % what if what else '', go_said(proc)))
    return proc.stdout


def _go_env(version=None):
    env = dict(os.environ, CGO_ENABLED='0')
    env.setdefault('GOFLAGS', '-buildvcs=false')
    toolchain = versions.TOOLCHAINS.get(versions.minor_of(version)) if version else None
    if toolchain:
        env['GOTOOLCHAIN'] = toolchain
    return env


def _tidy_note(modfile):
    """What ``go mod tidy`` said when the module was generated past errors (see generate_module)."""
    with open(modfile, encoding='utf-8') as handle:
        match = re.search(r'^// go mod tidy needed -e: (.*)$', handle.read(), re.M)
    return ' (when the module was generated, %s)' % match.group(1) if match else ''


def generate_module(version, dest):
    """Write ``dest``/go.mod and go.sum for ``version``: k8s.io/kubernetes at ``version``, each
    of its staging modules (its go.mod's ``=> ./staging/...`` replaces) at the published
    v0.MINOR.PATCH, etcd's server at the version kubernetes requires, its go and godebug lines;
    then ``go mod tidy`` in a scratch copy of go/'s sources."""
    info = json.loads(_go(['mod', 'download', '-json', 'k8s.io/kubernetes@%s' % version], cwd=HERE,
                          what='k8s.io/kubernetes %s from the module proxy' % version))
    with open(info['GoMod'], encoding='utf-8') as handle:
        upstream = handle.read()
    staging = sorted(set(re.findall(r'^\s*(?:replace\s+)?(\S+)\s+=>\s+\./staging/', upstream, re.M)))
    etcd = _required(upstream, 'go.etcd.io/etcd/server/v3')
    go_line = re.search(r'^go\s+(\S+)', upstream, re.M)
    if not staging or not etcd or not go_line:
        raise BuildError('k8s.io/kubernetes %s: its go.mod (%s) has no staging replaces, etcd server or go line.'
                         % (version, info['GoMod']))
    published = 'v0.' + version.split('.', 1)[1]
    lines = ['// Generated by tests/kube_real/build.py (generate_module) for k8s.io/kubernetes %s.' % version,
             'module github.com/mcp-k8s/cluster', '', 'go %s' % go_line.group(1), '']
    lines += re.findall(r'^godebug\s+.*$', upstream, re.M) + [
        '', 'require (', '\tgo.etcd.io/etcd/server/v3 %s' % etcd, '\tk8s.io/kubernetes %s' % version, ')', '',
        'replace (']
    lines += ['\t%s => %s %s' % (name, name, published) for name in staging] + [')', '']
    scratch = tempfile.mkdtemp(prefix='.module-', dir=cache_root() if os.path.isdir(cache_root()) else None)
    try:
        shutil.copytree(os.path.join(GO_MODULE, 'cmd'), os.path.join(scratch, 'cmd'))
        shutil.copy2(os.path.join(GO_MODULE, 'tools.go'), scratch)
        with open(os.path.join(scratch, 'go.mod'), 'w', encoding='utf-8') as handle:
            handle.write('\n'.join(lines))
        try:
            _go(['mod', 'tidy'], cwd=scratch, env=_go_env(version), what='k8s.io/kubernetes %s' % version)
        except BuildError as exc:
            # A module that only tests import may be missing from the proxy: tidy again past
            # the errors and let the build say whether the binaries need it.
            _go(['mod', 'tidy', '-e'], cwd=scratch, env=_go_env(version), what='k8s.io/kubernetes %s' % version)
            with open(os.path.join(scratch, 'go.mod'), 'a', encoding='utf-8') as handle:
                handle.write('\n// go mod tidy needed -e: %s\n' % str(exc).replace('\n', ' '))
        os.makedirs(dest, exist_ok=True)
        for name in ('go.mod', 'go.sum'):
            shutil.copy2(os.path.join(scratch, name), os.path.join(dest, name))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return os.path.join(dest, 'go.mod')


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


def ensure_binaries(out=sys.stderr, version=None):
    """Return the folder holding the three binaries of ``version`` (default: :func:`selected_version`),
    building them first if needed.

    Concurrent callers (pytest workers) wait on a lock file: one builds, the others then find
    the finished cache."""
    version = version or selected_version()
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
    started = time.monotonic()
    modfile = module_file(version)
    staging = tempfile.mkdtemp(prefix='.bin-building-', dir=parent)
    env = _go_env(version)
    flags = ldflags(version)
    extra = [] if os.path.dirname(modfile) == GO_MODULE else ['-modfile', modfile]
    try:
        # Every package the three need, resolved before anything is compiled: a module the proxy
        # does not serve fails here in seconds, not after two binaries were built.
        proc = subprocess.run([go, 'list'] + extra + ['-deps', '-f', '{{if .Error}}{{.Error}}{{end}}']
                              + list(PACKAGES.values()), cwd=GO_MODULE, env=env, capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise BuildError('go list of the packages of k8s.io/kubernetes %s failed: %s%s'
                             % (version, go_said(proc), _tidy_note(modfile)))
        for number, (name, package) in enumerate(sorted(PACKAGES.items()), 1):
            out.write('[kube_real] building %s %s (%d/%d; the first build takes several minutes)...\n'
                      % (name, version, number, len(PACKAGES)))
            out.flush()
            step = time.monotonic()
            command = [go, 'build'] + extra + ['-trimpath', '-ldflags', flags, '-o', os.path.join(staging, name), package]
            proc = subprocess.run(command, cwd=GO_MODULE, env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise BuildError('go build of %s (k8s.io/kubernetes %s) failed: %s%s'
                                 % (package, version, go_said(proc), _tidy_note(modfile)))
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
