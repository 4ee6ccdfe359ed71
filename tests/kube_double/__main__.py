"""``python -m kube_double --state-dir DIR``: run the double until SIGTERM."""
import argparse
import re
import signal
import sys
import threading

from .server import DEFAULT_VERSION, KubeDouble

UNITS = {'h': 3600, 'm': 60, 's': 1}


def duration(text):
    """Go-style duration (``1h``, ``90m``, ``3600s``, ``1h30m``) or bare seconds, in seconds."""
    if re.fullmatch(r'\d+', text):
        return int(text)
    parts = re.findall(r'(\d+)([hms])', text)
    if not parts or ''.join(n + u for n, u in parts) != text:
        raise argparse.ArgumentTypeError('invalid duration %r' % text)
    return sum(int(n) * UNITS[u] for n, u in parts)


def boolean(text):
    return text.lower() in ('1', 'true', 'yes')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='kube_double', description='A kube-apiserver double on 127.0.0.1.')
    parser.add_argument('--state-dir', required=True)
    parser.add_argument('--secure-port', type=int, default=0, help='port (default: a free one)')
    parser.add_argument('--service-account-issuer', action='append', default=None)
    parser.add_argument('--api-audiences', default=None, help='comma-separated')
    parser.add_argument('--service-account-max-token-expiration', type=duration, default=None)
    parser.add_argument('--service-account-extend-token-expiration', type=boolean, default=True)
    parser.add_argument('--anonymous-auth', type=boolean, default=True)
    parser.add_argument('--debug-token-lifetime', type=duration, default=None,
                        help='test only (kube-apiserver has no such option): every TokenRequest token lives this long')
    parser.add_argument('--kubernetes-version', default=DEFAULT_VERSION, help='gitVersion served at /version')
    args = parser.parse_args(argv)
    double = KubeDouble(args.state_dir,
                        api_audiences=args.api_audiences.split(',') if args.api_audiences else None,
                        issuer=args.service_account_issuer,
                        max_token_expiration=args.service_account_max_token_expiration,
                        extend_token_expiration=args.service_account_extend_token_expiration,
                        anonymous_auth=args.anonymous_auth, version=args.kubernetes_version,
                        port=args.secure_port, token_lifetime=args.debug_token_lifetime).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sys.stdout.write('kube-double ready url=%s kubeconfig=%s\n' % (double.url, double.kubeconfig_path))
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    double.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
