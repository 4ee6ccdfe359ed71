"""The mutants of issue 21 section 6, applied one at a time to the copy of the tree, each of which
must fail its row of tests/unit/plugins/test_security_invariants.py (and the unmutated copy must pass).

This is also the check that a mutation in the copy is what pytest runs: a row that still passed on
its mutant would be reported as SURVIVED. Run: python tests/mutation/hand_mutants.py (part of
`make mutation`). A mutant whose text is no longer found (the code was refactored) is reported
as STALE: rewrite it against the new code.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as mutation  # noqa: E402  pylint: disable=wrong-import-position

TREE = os.path.join(mutation.WORK, 'hand-tree')

MU = 'plugins/module_utils/'
# (row, [(file, original text, mutated text), ...]): all edits of a mutant are applied together
MUTANTS = [
    ('reuse_needs_the_same_audiences', [
        (MU + 'tokens.py', "if spec.audiences and set(info['audiences']) != set(spec.audiences):",
         "if spec.audiences and not set(info['audiences']) >= set(spec.audiences):"),
    ]),
    ('reuse_needs_the_same_bound_uid', [
        (MU + 'tokens.py', "or (bound['uid'] and bound['uid'] != have['uid'])):",
         'or False):'),
    ]),
    ('confirmed_tokens_are_per_cluster', [
        ('plugins/plugin_utils/token_batch.py', 'if identity == cluster.identity)',
         'if True)'),
    ]),
    ('self_subject_review_must_name_the_account', [
        (MU + 'serviceaccounts.py', "return user.get('uid') if user.get('username') == spec.username else None",
         "return user.get('uid')"),
    ]),
    ('verify_only_refuses_another_account_connection', [
        (MU + 'verification.py', "if caller and caller['username'] != spec['username']:",
         'if caller and False:'),
    ]),
    ('exec_plugin_token_is_redacted', [
        (MU + 'transport.py', "register_secret(credential.partition(' ')[2])",
         'pass'),
        (MU + 'kubeconfig.py', '            register_secret(token)\n',
         '            pass\n'),
    ]),
    ('json_escaped_secret_is_redacted', [
        (MU + 'errors.py', 'forms.add(json.dumps(text)[1:-1])',
         'pass'),
    ]),
    ('proxy_basic_auth_is_a_secret', [
        (MU + 'connection.py', "if value and key != 'user_agent':",
         "if value and key == 'user_agent':"),
    ]),
    ('kubeconfig_with_several_users_is_not_ours', [
        (MU + 'server_files.py', 'if not (len(users) == len(clusters) == len(contexts) == 1):',
         'if not (len(clusters) == len(contexts) == 1):'),
        (MU + 'server_files.py', 'return (account, record) if text in forms else None',
         'return (account, record)'),
    ]),
    ('config_starting_with_a_comment_is_not_ours', [
        (MU + 'server_files.py', r"(\S+); every run of the role rewrites it\.\Z')",
         r"(\S+);')"),
    ]),
    ('exec_credential_of_another_api_version_is_not_ours', [
        (MU + 'server_files.py', 'if _valid_record(record) and text == credential_text(token, expires, record):',
         'if _valid_record(record):'),
    ]),
    ('token_mode_diff_shows_no_token', [
        (MU + 'server_files.py', "for key in ('token', 'client-key-data', 'password'):",
         "for key in ('client-key-data', 'password'):"),
    ]),
    ('token_mode_diff_shows_no_token', [
        (MU + 'server_files.py', "'before': redact(self.current) if",
         "'before': (self.current) if"),
    ]),
    ('missing_folder_is_created_private', [
        (MU + 'server_files.py', 'os.makedirs(folder, mode=0o700)',
         'os.makedirs(folder, mode=0o755)'),
    ]),
    ('delete_namespace_only_for_its_own_account', [
        (MU + 'access.py', "if (meta.get('annotations') or {}).get(CREATED_ANNOTATION) != owner:",
         "if not (meta.get('annotations') or {}).get(CREATED_ANNOTATION):"),
        (MU + 'access.py', "get(CREATED_ANNOTATION) == spec['owner']:",
         "get(CREATED_ANNOTATION):"),
    ]),
    ('delete_namespace_only_when_it_holds_nothing_else', [
        (MU + 'access.py', "others = sorted(set(k for k in held if k not in ours and k not in NAMESPACE_DEFAULTS))",
         "others = []"),
    ]),
    ('delete_namespace_only_when_everything_in_it_was_listed', [
        (MU + 'access.py', "            except Exception:  # refused or failed: cannot tell what it holds\n                return None",
         "            except Exception:  # refused or failed: cannot tell what it holds\n                continue"),
    ]),
    ('prunes_carry_the_uid_precondition', [
        (MU + 'access.py', "body['preconditions'] = {'uid': uid}",
         'pass'),
    ]),
    ('adopt_still_refuses_another_accounts_objects', [
        (MU + 'access.py', 'if live_owner and live_owner != owner:',
         'if live_owner and live_owner != owner and not adopt:'),
    ]),
    ('cache_of_a_finished_run_is_not_read', [
        ('plugins/plugin_utils/token_cache.py', "(data.get('owner') != self.owner or not _alive(data.get('owner')))",
         "(data.get('owner') != self.owner)"),
    ]),
]


def row_passes(row):
    command = [mutation.PYTHON, '-m', 'pytest', '-q', '-x', '-p', 'no:randomly', '-o', 'addopts=',
               mutation.INVARIANTS, '-k', 'test_security_invariant and %s' % row]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE='1')
    return subprocess.run(command, cwd=TREE, capture_output=True, text=True, env=env, check=False).returncode == 0


def main():
    only = set(sys.argv[1:])     # rows to try (default: all)
    mutants = [m for m in MUTANTS if not only or m[0] in only]
    mutation.prepare(TREE)
    failures = 0
    if not all(row_passes(row) for row in sorted(set(m[0] for m in mutants))):
        print('the unmutated copy fails a row: fix the tests first')
        return 1
    for row, edits in mutants:
        saved = {}
        stale = False
        for name, original, mutated in edits:
            path = os.path.join(TREE, name)
            with open(path) as handle:
                text = handle.read()
            saved.setdefault(path, text)
            if text.count(original) != 1:
                print('STALE     %s: %r not found once in %s' % (row, original, name))
                stale = True
            with open(path, 'w') as handle:
                handle.write(text.replace(original, mutated, 1))
        try:
            killed = not stale and not row_passes(row)
        finally:
            for path, text in saved.items():
                with open(path, 'w') as handle:
                    handle.write(text)
        shown = '; '.join('%s: %s -> %s' % (name, original.strip(), mutated.strip()) for name, original, mutated in edits)
        print('%-9s %s: %s' % ('killed' if killed else ('STALE' if stale else 'SURVIVED'), row, shown))
        failures += not killed
    print('%d of %d hand-applied mutants killed' % (len(mutants) - failures, len(mutants)))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
