"""The path of a token (docs/development.md): a minted token crosses at most 6 plugin files,
counted by tests/bench/token_path.py tracing real runs of the module and the lookup against the double."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_a_minted_token_crosses_at_most_six_plugin_files():
    out = subprocess.run([sys.executable, os.path.join(ROOT, 'tests', 'bench', 'token_path.py')], capture_output=True,
                         text=True, check=True, timeout=600).stdout
    counts = dict((line.split(':')[0], line) for line in out.splitlines() if line.endswith(' files'))
    assert set(counts) == {'sa_token module', 'sa_token module, validate=true', 'sa_token lookup'}, out
    for label, line in counts.items():
        assert int(line.rsplit(':', 1)[1].split()[0]) <= 6, out
    paths = [line for line in out.splitlines() if ' -> ' in line]
    assert all('module_utils/transport.py' in path and 'module_utils/serviceaccounts.py' in path for path in paths), out
    # decisions see decoded claims, never the token; the HTTP layer builds no kubeconfig
    off_the_path = ('module_utils/tokens.py', 'module_utils/server_files.py', 'module_utils/retries.py')
    assert not any(name in path for path in paths for name in off_the_path), out
