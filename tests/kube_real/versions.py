"""Which Kubernetes releases the real control plane can be built from, which the collection
supports, and how a release's command lines differ from the newest one's. Data only, read by
build.py (the Go module and toolchain of a release), control_plane.py (its flags) and
scripts/matrix.py (``make matrix``).

The version used everywhere is ``$MCP_K8S_KUBE_VERSION`` (a release ``v1.33.13`` or a minor
``1.33``), else the pinned release of ``go/go.mod``.
"""
import re

ENV = 'MCP_K8S_KUBE_VERSION'

# The newest patch release of each minor that the Go module proxy serves as k8s.io/kubernetes
# (with its staging modules published as v0.MINOR.PATCH).
RELEASES = {
    '1.29': 'v1.29.6', '1.30': 'v1.30.14', '1.31': 'v1.31.14', '1.32': 'v1.32.13',
    '1.33': 'v1.33.13', '1.34': 'v1.34.4', '1.35': 'v1.35.4', '1.36': 'v1.36.3', '1.37': 'v1.37.2',
}

# The minors the collection claims (README.md, "Kubernetes versions"), oldest first: each is run
# by `make matrix`; the oldest one's targets run in CI (`make targets-oldest`).
SUPPORTED = ('1.33', '1.34', '1.35', '1.36', '1.37')

# A Go toolchain (GOTOOLCHAIN, fetched as a module) for releases that the installed Go cannot
# build; none is needed as long as this stays empty.
TOOLCHAINS = {}

# How the command lines of older releases differ from the newest one's, which control_plane.py
# writes: (component, flag, value, before) gives ``flag`` that ``value`` on every release older
# than the minor ``before`` (a value of None leaves the flag out); of several rows for one flag
# the one with the lowest ``before`` that still applies wins. Each row says why it is there.
# Empty: 1.33 to 1.37 take the same flags (the -controller names of --controllers came in 1.28).
FLAGS = ()


def parse(version):
    """``(major, minor)`` of a release ``v1.33.13`` / ``1.33.13`` or a minor ``1.33``."""
    match = re.match(r'^v?(\d+)\.(\d+)(?:\.\d+)?$', (version or '').strip())
    if not match:
        raise ValueError('%r is not a Kubernetes version: give a release such as v1.33.13 or a minor such as 1.33.'
                         % version)
    return int(match.group(1)), int(match.group(2))


def minor_of(version):
    return '%d.%d' % parse(version)


def release(version):
    """The release to build for ``version``: a minor becomes its newest served release."""
    text = version.strip()
    if re.match(r'^v?\d+\.\d+$', text):
        minor = minor_of(text)
        if minor not in RELEASES:
            raise ValueError('No release of Kubernetes %s is known here; known minors: %s (or give a full release '
                             'such as v%s.0).' % (minor, ', '.join(RELEASES), minor))
        return RELEASES[minor]
    parse(text)
    return text if text.startswith('v') else 'v' + text


def flags(version, component):
    """``{flag: value}`` that ``component`` of ``version`` needs instead of the newest release's
    (a value of None: leave the flag out)."""
    running = parse(version)
    chosen = {}
    for name, flag, value, before in sorted(FLAGS, key=lambda row: parse(row[3]), reverse=True):
        if name == component and running < parse(before):
            chosen[flag] = value
    return chosen
