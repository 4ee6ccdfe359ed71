"""``python -m kube_real``: a real control plane in the foreground until Ctrl-C (``make cluster``).

    python -m kube_real [--state-dir DIR] [--port PORT] [--issuer URL] [--api-audiences a,b]
                        [--service-account-max-token-expiration SECONDS]
                        [--service-account-extend-token-expiration true|false]
                        [--kube-version v1.33.13|1.33]
    python -m kube_real build [--kube-version V]  # only build (or find) the binaries, print their folder
    python -m kube_real module V                  # write versions/<minor>/go.mod and go.sum for V

The Kubernetes version is --kube-version, else $MCP_K8S_KUBE_VERSION, else the pinned release.
"""
import argparse
import os
import signal
import sys
import tempfile
import time

from . import versions
from .build import VERSIONS_DIR, BuildError, ensure_binaries, generate_module, selected_version
from .control_plane import ControlPlane


def _parser():
    parser = argparse.ArgumentParser(prog='python -m kube_real', description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('command', nargs='?', choices=['run', 'build', 'module'], default='run')
    parser.add_argument('version', nargs='?', help='with "module": the release or minor to write the module of')
    parser.add_argument('--kube-version', help='Kubernetes release or minor (default: $%s, else the pinned '
                                               'release)' % versions.ENV)
    parser.add_argument('--state-dir', help='where certificates, etcd data, logs and the kubeconfig go '
                                            '(default: a new temporary folder, removed on exit)')
    parser.add_argument('--port', type=int, default=0, help='kube-apiserver port on 127.0.0.1 (default: a free one)')
    parser.add_argument('--issuer', help='--service-account-issuer (default https://kubernetes.default.svc.cluster.local)')
    parser.add_argument('--api-audiences', help='comma-separated --api-audiences (default: the issuer)')
    parser.add_argument('--service-account-max-token-expiration', type=int, metavar='SECONDS')
    parser.add_argument('--service-account-extend-token-expiration', choices=['true', 'false'], default='true')
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        version = versions.release(args.kube_version) if args.kube_version else selected_version()
        if args.command == 'module':
            if not args.version:
                raise ValueError('"module" needs the release or minor to write the Go module of, e.g. 1.33.')
            release = versions.release(args.version)
            print(generate_module(release, os.path.join(VERSIONS_DIR, versions.minor_of(release))))
            return 0
        if args.command == 'build':
            print(ensure_binaries(version=version))
            return 0
        state_dir = args.state_dir or tempfile.mkdtemp(prefix='kube-real-')
        plane = ControlPlane(state_dir, issuer=args.issuer,
                             api_audiences=args.api_audiences.split(',') if args.api_audiences else None,
                             max_token_expiration=args.service_account_max_token_expiration,
                             extend_token_expiration=args.service_account_extend_token_expiration == 'true',
                             port=args.port, version=version)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        plane.start()
    except (BuildError, ValueError) as exc:
        sys.stderr.write('%s\n' % exc)
        return 2
    except KeyboardInterrupt:
        sys.stderr.write('Interrupted.\n')
        return 130
    try:
        print('kube-real %s ready url=%s kubeconfig=%s (started in %.1f s)'
              % (plane.version, plane.url, plane.kubeconfig_path, plane.started_in), flush=True)
        print('  try: KUBECONFIG=%s kubectl get namespaces' % plane.kubeconfig_path)
        print('  audit log: %s; component logs: %s/*.log' % (plane.audit_log_path, state_dir))
        print('  Ctrl-C stops etcd, kube-apiserver and kube-controller-manager.', flush=True)
        while all(proc.poll() is None for _name, proc in plane._processes):  # pylint: disable=protected-access
            time.sleep(0.5)
        sys.stderr.write('A control-plane process exited; see the logs in %s.\n' % state_dir)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        plane.stop()
        if not args.state_dir:
            plane.remove_state()


if __name__ == '__main__':
    sys.exit(main())
