"""A corpus of bad input across the module, the lookup, sa_token_info and the role's variables.

Every case is one inventory host (``ansible_connection=local``) in one ``ansible-playbook`` run
with the JSON callback, so the whole corpus costs one process start while each case still fails
on its own: the case's task must fail (not crash, not be unreachable), with one clear sentence,
no traceback and no secret, and the run must end with rc 2 as any failed task makes it.
The table of cases and their sentences is docs/bad-input.md.
"""
import json
import os
import re

import pytest
import yaml

from bad_input_support import BadFiles, answer_rewrites
from kube_double import KubeDouble


from harness import PYTHON, ansible_playbook, assert_nowhere, hygiene_env, lookup_sentence, playbook_env


TOKEN_PATH = r'/serviceaccounts/[^/]+/token$'

NAME_RULE = ('is not a valid ServiceAccount name; use lowercase letters, digits, "-" and ".", starting and ending '
             'with a letter or digit.')
NS_RULE = ('is not a valid namespace name; use lowercase letters, digits and "-", starting and ending with a letter '
           'or digit.')
LONG = 'a' * 254
BELOW = 'is below the minimum of 10 minutes (600 seconds) that the API server accepts; use "10m" or longer.'
NOT_DURATION = 'is not a duration; use kubectl\'s form such as "10m", "1h30m", "3600s" or a number of seconds.'
ABOVE = 'is above the maximum of 2^32 seconds (4294967296) that the API server accepts; use a shorter duration.'
NO_CONFIG = ('; set kubeconfig (or K8S_AUTH_KUBECONFIG), or host with credentials, or run inside a pod.')
TLS_FIX = '; give the cluster CA with ca_cert or in the kubeconfig.'
WHITESPACE = 'has whitespace (a line break or spaces) at its start or end; remove it'
NOT_SHORTER = (' is not shorter than duration "10m" (600 seconds), so no token would ever be reused and every run would '
               'mint a new one; set renew_before to "5m" or less, or a longer duration.')
NO_CONTEXT = ('Context "nope" is not in kubeconfig {kubeconfig}, which has the context "kube-double"; give one of those '
              'as the context option (K8S_AUTH_CONTEXT), or none for its current context "kube-double".')
ANSWER = ('The API server answered the TokenRequest for ServiceAccount "mcp/%s" with %s, which kube-apiserver never '
          'sends; check that {url} is the Kubernetes API server and that no proxy or webhook in between changes its '
          'answers.')

AGGREGATE = 'rbac.authorization.k8s.io/aggregate-to-%s'
AGGREGATION = ('The labels of the ClusterRole %s (rbac.authorization.k8s.io/aggregate-to-%s) are selected by the '
               'aggregationRule of %s, so its rules would be copied into %s and granted to everyone bound to %s; remove '
               'those labels, or set %s to true if that is really meant.')
SYSTEM_NAMESPACE = ('"%s" is a system namespace: its ServiceAccounts belong to Kubernetes and its controllers and hold '
                    'rights through built-in bindings, so mcp.k8s never creates, adopts or changes an account there; '
                    'choose another namespace.')

# case id -> (surface, input, expected sentence: exact, or (start, end) fragments)
# Placeholders in inputs: {files.NAME} a path of BadFiles, {url} the double, {token} a real token.
CASES = {
    # ------------------------------------------------------------- the module: durations
    'module-duration-5m': ('module', {'duration': '5m'}, 'duration "5m" (300 seconds) ' + BELOW),
    'module-duration-negative': ('module', {'duration': '-1h'}, 'duration "-1h" (-3600 seconds) ' + BELOW),
    'module-duration-fraction': ('module', {'duration': '1.5s'}, 'duration must be whole seconds; "1.5s" is 1.5 seconds.'),
    'module-duration-abc': ('module', {'duration': 'abc'}, 'duration "abc" ' + NOT_DURATION),
    'module-duration-zero': ('module', {'duration': '0'}, 'duration "0" (0 seconds) ' + BELOW),
    'module-duration-2^33': ('module', {'duration': 2 ** 33}, 'duration 8589934592 (8589934592 seconds) ' + ABOVE),
    'module-duration-unit': ('module', {'duration': '2d'}, 'duration "2d" ' + NOT_DURATION),
    'module-renew-before-bad': ('module', {'renew_before': 'later'}, 'renew_before "later" ' + NOT_DURATION),
    'module-renew-before-equal': ('module', {'duration': '10m', 'renew_before': '10m'},
                                  'renew_before "10m" (600 seconds)' + NOT_SHORTER),
    'module-renew-before-longer': ('module', {'duration': '10m', 'renew_before': '20m'},
                                   'renew_before "20m" (1200 seconds)' + NOT_SHORTER),
    # ------------------------------------------------------------- the module: names
    'module-name-capitals': ('module', {'name': 'MyServer'}, 'name "MyServer" ' + NAME_RULE),
    'module-name-underscore': ('module', {'name': 'my_server'}, 'name "my_server" ' + NAME_RULE),
    'module-name-254': ('module', {'name': LONG},
                        'name "aaaaaaaaaaaaaaaaaaaa...aaaaaaaa" has 254 characters, more than the 253 a ServiceAccount '
                        'name may have; use a shorter name.'),
    'module-namespace-dots': ('module', {'namespace': 'team.a'}, 'namespace "team.a" ' + NS_RULE),
    'module-bound-name': ('module', {'bound_object': {'kind': 'Pod', 'name': 'Web_1'}},
                          'bound_object.name "Web_1" is not a valid Pod name; use lowercase letters, digits, "-" and ".", '
                          'starting and ending with a letter or digit.'),
    # ------------------------------------------------------------- the module: request content
    'module-empty-audience': ('module', {'audiences': ['']},
                              "audiences must be non-empty strings; leave the list empty for the API server's default "
                              "audiences (got '')."),
    'module-unknown-kind': ('module', {'bound_object': {'kind': 'Deployment', 'name': 'web'}},
                            'value of kind must be one of: Pod, Secret, Node, got: Deployment found in bound_object'),
    'module-bound-without-name': ('module', {'bound_object': {'kind': 'Secret'}},
                                  'missing required arguments: name found in bound_object'),
    'module-missing-account': ('module', {'name': 'ghost'},
                               'ServiceAccount "ghost" does not exist in namespace "mcp"; create it first or correct '
                               'the name.'),
    'module-missing-namespace': ('module', {'namespace': 'nowhere'},
                                 'Namespace "nowhere" does not exist; create it and the ServiceAccount "server" first or '
                                 'correct namespace.'),
    # ------------------------------------------------------------- the module: connection
    'module-kubeconfig-malformed': ('module', {'kubeconfig': '{files.malformed}'},
                                    ('No usable Kubernetes configuration (kubeconfig {files.malformed} is not valid YAML '
                                     '(line 3))', NO_CONFIG)),
    'module-kubeconfig-list': ('module', {'kubeconfig': '{files.not_a_mapping}'},
                               ('No usable Kubernetes configuration (kubeconfig {files.not_a_mapping} is not a mapping of '
                                'clusters, users and contexts)', NO_CONFIG)),
    'module-kubeconfig-binary': ('module', {'kubeconfig': '{files.binary}'},
                                 ('No usable Kubernetes configuration (kubeconfig {files.binary} is not UTF-8 text)',
                                  NO_CONFIG)),
    'module-kubeconfig-empty': ('module', {'kubeconfig': '{files.empty}'},
                                ('No usable Kubernetes configuration (Invalid kube-config', NO_CONFIG)),
    'module-kubeconfig-directory': ('module', {'kubeconfig': '{files.directory}'},
                                    ('No usable Kubernetes configuration (kubeconfig {files.directory} does not exist)',
                                     NO_CONFIG)),
    'module-kubeconfig-no-server': ('module', {'kubeconfig': '{files.no_server}'},
                                    'No usable Kubernetes configuration (the cluster of the kubeconfig has no server)'
                                    + NO_CONFIG),
    'module-context-missing': ('module', {'context': 'nope'}, NO_CONTEXT),
    'module-wrong-ca': ('module', {'kubeconfig': '{files.wrong_ca}'},
                        ('TLS verification of the API server at {url} failed (', TLS_FIX)),
    'module-wrong-ca-option': ('module', {'host': '{url}', 'api_key': 'sekrit-api-key-1', 'ca_cert': '{files.foreign_ca}'},
                               ('TLS verification of the API server at {url} failed (', TLS_FIX)),
    'module-ca-missing-file': ('module', {'host': '{url}', 'api_key': 'sekrit-api-key-2', 'ca_cert': '/nonexistent/ca.pem'},
                               ('Cannot read /nonexistent/ca.pem', 'check the path.')),
    # the double (Python's ssl) sends the alert, or under load sometimes closes the connection first
    'module-expired-client-cert': ('module', {'kubeconfig': '{files.expired}'}, re.compile(
        r'The API server at {url} refused the client certificate in the TLS handshake \(certificate expired\); renew '
        r'or replace the client certificate in the kubeconfig or client_cert\.|The TLS handshake with the API server '
        r'at {url} failed \([^;]*\); check the client certificate and CA in the kubeconfig, and that the address '
        r'serves the Kubernetes API over HTTPS\.')),
    # the double refuses with an "unknown ca" alert, or closes the connection before sending it
    'module-untrusted-client-cert': ('module', {'kubeconfig': '{files.untrusted_client}'}, re.compile(
        r'The API server at {url} refused the client certificate in the TLS handshake \(unknown ca\); renew or '
        r'replace the client certificate in the kubeconfig or client_cert\.|The TLS handshake with the API server at '
        r'{url} failed \([^;]*\); check the client certificate and CA in the kubeconfig, and that the address '
        r'serves the Kubernetes API over HTTPS\.')),
    'module-api-key-not-a-jwt': ('module', {'host': '{url}', 'api_key': 'sekrit-not-a-jwt', 'ca_cert': '{ca}'},
                                 'The API server at {url} rejected the credentials (401 Unauthorized); check the '
                                 'kubeconfig, api_key or client certificate.'),
    'module-host-not-a-url': ('module', {'host': 'not a url', 'api_key': 'sekrit-api-key-3'},
                              'No usable Kubernetes configuration (host "not a url" is not a URL such as '
                              'https://203.0.113.10:6443)' + NO_CONFIG),
    # ------------------------------------------------------------- the module: credentials and URLs (issue 16)
    'module-api-key-newline': ('module', {'host': '{url}', 'api_key': '{files.api_key_newline}', 'ca_cert': '{ca}'},
                               'api_key ' + WHITESPACE + ', for example with the trim filter.'),
    'module-kubeconfig-token-newline': ('module', {'kubeconfig': '{files.token_newline}'},
                                        'The token of user "kubernetes-admin" in kubeconfig {files.token_newline} '
                                        + WHITESPACE + '.'),
    'module-host-password': ('module', {'host': '{files.url_with_password}', 'api_key': 'sekrit-not-a-jwt-2',
                                        'ca_cert': '{ca}'},
                             'The API server at {url} rejected the credentials (401 Unauthorized); check the '
                             'kubeconfig, api_key or client certificate.'),
    'module-proxy-unreachable': ('module', {'host': '{url}', 'api_key': 'sekrit-api-key-4', 'ca_cert': '{ca}',
                                            'proxy': '{files.dead_proxy}', 'request_timeout': 5},
                                 'Cannot reach the API server at {url} through the proxy {files.dead_proxy_shown} '
                                 '(connection refused); check proxy (or proxy-url in the kubeconfig) and that the '
                                 'proxy is running and lets the connection through.'),
    'module-request-timeout-negative': ('module', {'request_timeout': -1},
                                        'request_timeout must be a positive number of seconds, not -1.0.'),
    'module-bound-name-newline': ('module', {'bound_object': {'kind': 'Secret', 'name': 'anchor\n'}},
                                  'bound_object.name "anchor\\n" is not a valid Secret name; use lowercase letters, '
                                  'digits, "-" and ".", starting and ending with a letter or digit.'),
    # ------------------------------------------------------------- the module: answers kube-apiserver never sends
    'module-answer-past': ('module', {'name': 'answer-past'},
                           ANSWER % ('answer-past', 'an expirationTimestamp "2001-01-01T00:00:00Z" in the past')),
    'module-answer-not-rfc3339': ('module', {'name': 'answer-not-rfc3339'},
                                  ANSWER % ('answer-not-rfc3339',
                                            'an expirationTimestamp "next tuesday" that is not an RFC 3339 time')),
    'module-answer-other-account': ('module', {'name': 'answer-other-account'},
                                    ANSWER % ('answer-other-account', 'a token for "system:serviceaccount:mcp:server"')),
    'module-answer-exp-text': ('module', {'name': 'answer-exp-text'},
                               ANSWER % ('answer-exp-text', 'a token with a "exp" claim of "soon" instead of a number '
                                                            'of seconds')),
    'module-answer-opaque': ('module', {'name': 'answer-opaque'},
                             ANSWER % ('answer-opaque', 'a token that is not a JWT (three base64url parts with a JSON '
                                                        'payload)')),
    # ------------------------------------------------------------- the lookup
    'lookup-duration-negative': ('lookup', {'kwargs': {'duration': '-1h'}}, 'duration "-1h" (-3600 seconds) ' + BELOW),
    'lookup-duration-abc': ('lookup', {'kwargs': {'duration': 'abc'}}, 'duration "abc" ' + NOT_DURATION),
    'lookup-duration-zero': ('lookup', {'kwargs': {'duration': 0}}, 'duration 0 (0 seconds) ' + BELOW),
    'lookup-duration-2^33': ('lookup', {'kwargs': {'duration': 2 ** 33}}, 'duration 8589934592 (8589934592 seconds) ' + ABOVE),
    'lookup-name-capitals': ('lookup', {'term': 'mcp/Server'}, 'name "Server" ' + NAME_RULE),
    'lookup-name-underscore': ('lookup', {'term': 'mcp/mcp_server'}, 'name "mcp_server" ' + NAME_RULE),
    'lookup-name-254': ('lookup', {'term': 'mcp/' + LONG},
                        'name "aaaaaaaaaaaaaaaaaaaa...aaaaaaaa" has 254 characters, more than the 253 a ServiceAccount '
                        'name may have; use a shorter name.'),
    'lookup-namespace-capitals': ('lookup', {'term': 'MCP/server'}, 'namespace "MCP" ' + NS_RULE),
    'lookup-empty-audience': ('lookup', {'kwargs': {'audiences': ['mcp', '']}},
                              "audiences must be non-empty strings; leave the list empty for the API server's default "
                              "audiences (got '')."),
    'lookup-unknown-kind': ('lookup', {'kwargs': {'bound_object': {'kind': 'Node2', 'name': 'n'}}},
                            'bound_object.kind "Node2" is not supported; a token can be bound to a Pod, Secret or Node.'),
    'lookup-missing-account': ('lookup', {'term': 'mcp/ghost'},
                               'The API server at {url} (context "kube-double" of kubeconfig {kubeconfig}) answered: '
                               'ServiceAccount "ghost" does not exist in namespace "mcp"; create it first or correct '
                               'the name.'),
    'lookup-context-missing': ('lookup', {'kwargs': {'context': 'nope'}}, NO_CONTEXT),
    'lookup-renew-before-longer': ('lookup', {'kwargs': {'duration': '10m', 'renew_before': '20m'}},
                                   'renew_before "20m" (1200 seconds)' + NOT_SHORTER),
    'lookup-kubeconfig-malformed': ('lookup', {'kwargs': {'kubeconfig': '{files.malformed}'}},
                                    ('No usable Kubernetes configuration (kubeconfig {files.malformed} is not valid YAML',
                                     NO_CONFIG)),
    'lookup-wrong-ca': ('lookup', {'kwargs': {'kubeconfig': '{files.wrong_ca}'}},
                        ('Cannot mint a token for ServiceAccount "mcp/server": TLS verification of the API server at '
                         '{url} failed (', TLS_FIX)),
    'lookup-expired-client-cert': ('lookup', {'kwargs': {'kubeconfig': '{files.expired}'}}, re.compile(
        r'Cannot mint a token for ServiceAccount "mcp/server": (The API server at {url} refused the client certificate '
        r'in the TLS handshake \(certificate expired\); renew or replace the client certificate in the kubeconfig or '
        r'client_cert\.|The TLS handshake with the API server at {url} failed \([^;]*\); check the client '
        r'certificate and CA in the kubeconfig, and that the address serves the Kubernetes API over HTTPS\.)')),
    'lookup-empty-term': ('lookup', {'term': ''}, 'The term \'\' is not a ServiceAccount; give "name" or "namespace/name".'),
    'lookup-request-timeout-negative': ('lookup', {'kwargs': {'request_timeout': -5}},
                                        'request_timeout must be a positive number of seconds, not -5.0.'),
    'lookup-bound-name-newline': ('lookup', {'kwargs': {'bound_object': {'kind': 'Pod', 'name': 'web\n'}}},
                                  'bound_object.name "web\\n" is not a valid Pod name; use lowercase letters, digits, '
                                  '"-" and ".", starting and ending with a letter or digit.'),
    'lookup-api-key-newline': ('lookup', {'kwargs': {'host': '{url}', 'api_key': '{files.api_key_newline}',
                                                     'ca_cert': '{ca}'}},
                               'api_key ' + WHITESPACE + ', for example with the trim filter.'),
    'lookup-answer-opaque': ('lookup', {'term': 'mcp/answer-opaque-lookup'},
                             ANSWER % ('answer-opaque-lookup', 'a token that is not a JWT (three base64url parts with a '
                                                               'JSON payload)')),
    # ------------------------------------------------------------- sa_token_info
    'info-not-a-jwt': ('info', {'token': 'sekrit-not-a-jwt'},
                       'The given token is not a JWT (three base64url parts with a JSON payload).'),
    'info-three-parts-not-json': ('info', {'token': 'c2Vrcml0.c2Vrcml0.c2Vrcml0'},
                                  'The given token is not a JWT (three base64url parts with a JSON payload).'),
    'info-exp-text': ('info', {'token': '{files.exp_text_token}'},
                      'The given token has a "exp" claim of "soon" instead of a number of seconds; it is not a token '
                      'a Kubernetes API server issues.'),
    'info-empty-token': ('info', {'token': ''}, 'token must be a ServiceAccount token (a JWT), not an empty value.'),
    'info-review-wrong-ca': ('info', {'token': '{token}', 'review': True, 'kubeconfig': '{files.wrong_ca}'},
                             ('TLS verification of the API server at {url} failed (', TLS_FIX)),
    'info-review-malformed-kubeconfig': ('info', {'token': '{token}', 'review': True, 'kubeconfig': '{files.binary}'},
                                         ('No usable Kubernetes configuration (kubeconfig {files.binary} is not UTF-8 '
                                          'text)', NO_CONFIG)),
    'info-can-i-without-verb': ('info', {'token': '{token}', 'can_i': [{'resource': 'pods'}]},
                                'missing required arguments: verb found in can_i'),
    # ------------------------------------------------------------- the role's variables
    'role-duration-5m': ('role', {'mcp_k8s_server_token_duration': '5m'}, 'duration "5m" (300 seconds) ' + BELOW),
    'role-duration-10m': ('role', {'mcp_k8s_server_token_duration': '10m'},
                          'renew_before "10m" (600 seconds)' + NOT_SHORTER),
    'role-duration-abc': ('role', {'mcp_k8s_server_token_duration': 'abc'}, 'duration "abc" ' + NOT_DURATION),
    'role-account-underscore': ('role', {'mcp_k8s_server_service_account': 'mcp_server'}, 'name "mcp_server" ' + NAME_RULE),
    'role-namespace-capitals': ('role', {'mcp_k8s_server_namespace': 'Tools'}, 'namespace "Tools" ' + NS_RULE),
    'role-empty-audience': ('role', {'mcp_k8s_server_token_audiences': ['']},
                            "audiences must be non-empty strings; leave the list empty for the API server's default "
                            "audiences (got '')."),
    # ansible-core's own format for argument_specs: a heading line, then the sentence
    'role-unknown-access': ('role', {'mcp_k8s_server_access': 'admin'},
                            ('Validation of arguments failed:\n', 'value of mcp_k8s_server_access must be one of: '
                             'read-only, operator, upstream, custom, got: admin')),
    'role-unknown-state': ('role', {'mcp_k8s_server_state': 'gone'},
                           ('Validation of arguments failed:\n', 'value of mcp_k8s_server_state must be one of: '
                            'present, absent, got: gone')),
    'role-malformed-kubeconfig': ('role', {'mcp_k8s_server_auth_kubeconfig': '{files.not_a_mapping}'},
                                  ('No usable Kubernetes configuration (kubeconfig {files.not_a_mapping} is not a mapping',
                                   NO_CONFIG)),
    # what the access module refuses before any write (issue 16 items 1 and 4)
    'role-builtin-name': ('role', {'mcp_k8s_server_service_account': 'cluster-admin'},
                          '"cluster-admin" is a built-in Kubernetes name and the roles and bindings take the account\'s '
                          'name, so they would replace a built-in role; built-in and system names are never changed: '
                          'choose another name.'),
    'role-custom-wildcard': ('role', {'mcp_k8s_server_access': 'custom', 'mcp_k8s_server_rules': [
        {'apiGroups': ['*'], 'resources': ['*'], 'verbs': ['*']}]},
        'Refusing to grant system:serviceaccount:default:mcp-k8s-server what the rules allow: rules[0] grants every '
        'verb ("*"); rules[0] grants every resource ("*"), which lets it take over the cluster; narrow the rules, or '
        'set mcp_k8s_server_allow_wildcards_and_escalation to true if that is really meant.'),
    # the server's files (issue 21 §5, issue 24 §1): one file for two options, files of others, another cluster
    'role-credential-is-kubeconfig': ('role', {'mcp_k8s_server_kubeconfig_path': '{files.sf_role_same}/kubeconfig',
                                               'mcp_k8s_server_credential_path': '{files.sf_role_same}/kubeconfig'},
                                      'mcp_k8s_server_credential_path and mcp_k8s_server_kubeconfig_path name the same '
                                      'file, {files.sf_role_same}/kubeconfig, which would hold both; set '
                                      'mcp_k8s_server_credential_path to another path.'),
    'role-custom-rule-without-api-groups': ('role', {'mcp_k8s_server_access': 'custom', 'mcp_k8s_server_rules': [
        {'resources': ['pods'], 'verbs': ['get']}]},
        'rules[0] has no apiGroups; use [""] for the core group (pods, secrets, ...).'),
    'files-credential-is-kubeconfig': ('files', {'cluster': {'server': '{url}'}, 'kubeconfig_path': '{files.sf_same}/kubeconfig',
                                                 'credential_path': '{files.sf_same}/kubeconfig'},
                                       'credential_path and kubeconfig_path name the same file, {files.sf_same}/kubeconfig, '
                                       'which would hold both; set credential_path to another path.'),
    'files-config-links-to-kubeconfig': ('files', {'cluster': {'server': '{url}'}, 'kubeconfig_path': '{files.sf_link}/kubeconfig',
                                                   'config_path': '{files.sf_link}/config.yaml'},
                                         'config_path and kubeconfig_path name the same file, {files.sf_link}/kubeconfig, '
                                         'which would hold both; set config_path to another path.'),
    'files-another-tools-credential': ('files', {'cluster': {'server': '{url}'}, 'kubeconfig_path': '{files.sf_tool}/kubeconfig'},
                                       '{files.sf_tool}/kubeconfig.credential.json exists and was not written by mcp.k8s; '
                                       'move it away, set credential_path to another path, or set force=true to replace it.'),
    'files-token-path-not-a-token': ('files', {'cluster': {'server': '{url}'},
                                               'token_path': '{files.sf_tool}/kubeconfig.credential.json'},
                                     'token_path {files.sf_tool}/kubeconfig.credential.json exists and is not a token file '
                                     'of system:serviceaccount:mcp:server that mcp.k8s wrote, so it was not replaced; '
                                     'remove it or choose another path.'),
    'files-another-accounts-files': ('files', {'cluster': {'server': '{url}'}, 'kubeconfig_path': '{files.sf_other_account}/kubeconfig',
                                               'config_path': '{files.sf_other_account}/config.yaml'},
                                     '{files.sf_other_account}/kubeconfig exists and was written by mcp.k8s for '
                                     'system:serviceaccount:mcp:other, not for system:serviceaccount:mcp:server; move it '
                                     'away, set kubeconfig_path to another path, or set force=true to replace it.'),
    'files-another-cluster': ('files', {'cluster': {'server': '{url}'}, 'kubeconfig_path': '{files.sf_other_cluster}/kubeconfig',
                                        'config_path': '{files.sf_other_cluster}/config.yaml'},
                              '{files.sf_other_cluster}/kubeconfig serves system:serviceaccount:mcp:server on the cluster '
                              'at https://west.example:6443 (no CA recorded), but this run is against the cluster at '
                              '{url} (no CA recorded); check the kubeconfig and context this run uses, or set '
                              'move_cluster to true to point the files at {url} (the account and its rights stay on '
                              'https://west.example:6443 until a deprovision there).'),
    # what the cluster grants beyond the rules (issue 21): aggregation, system accounts, wildcards
    'role-aggregate-to-view-label': ('role', {'mcp_k8s_server_labels': {'app': 'mcp', AGGREGATE % 'view': 'true'}},
                                     AGGREGATION % ('mcp-k8s-server', 'view', 'ClusterRole admin, ClusterRole edit and '
                                                    'ClusterRole view', 'them', 'them', 'mcp_k8s_server_allow_aggregation')),
    'role-system-namespace': ('role', {'mcp_k8s_server_namespace': 'kube-system', 'mcp_k8s_server_adopt': True},
                              SYSTEM_NAMESPACE % 'kube-system'),
    'role-custom-url-prefix': ('role', {'mcp_k8s_server_access': 'custom', 'mcp_k8s_server_rules': [
        {'nonResourceURLs': ['/*'], 'verbs': ['get']}]},
        'Refusing to grant system:serviceaccount:default:mcp-k8s-server what the rules allow: rules[0] grants every '
        'non-resource URL ("/*"), which lets it take over the cluster; narrow the rules, or set '
        'mcp_k8s_server_allow_wildcards_and_escalation to true if that is really meant.'),
    'access-aggregate-to-edit-label': ('access', {'labels': {AGGREGATE % 'edit': 'true'}},
                                       AGGREGATION % ('app', 'edit', 'ClusterRole admin and ClusterRole edit', 'them',
                                                      'them', 'allow_aggregation')),
    'access-system-namespace': ('access', {'name': 'root-ca-cert-publisher', 'namespace': 'kube-node-lease',
                                           'adopt': True}, SYSTEM_NAMESPACE % 'kube-node-lease'),
    'access-impersonate-named-user': ('access', {'rules': [{'apiGroups': [''], 'resources': ['users'],
                                                            'resourceNames': ['admin'], 'verbs': ['impersonate']}]},
                                      'Refusing to grant system:serviceaccount:mcp:app what the rules allow: rules[0] '
                                      'grants "impersonate", which lets it take over the cluster; narrow the rules, or set '
                                      'allow_wildcards_and_escalation to true if that is really meant.'),
    'access-bind-cluster-admin-by-name': ('access', {'rules': [
        {'apiGroups': ['rbac.authorization.k8s.io'], 'resources': ['clusterroles'], 'resourceNames': ['cluster-admin'],
         'verbs': ['bind']}]},
        'Refusing to grant system:serviceaccount:mcp:app what the rules allow: rules[0] grants "bind", which lets it '
        'take over the cluster; narrow the rules, or set allow_wildcards_and_escalation to true if that is really '
        'meant.'),
    'access-rights-beyond-the-grant': ('access', {'name': 'extra', 'verify_mint': True},
                                       'RBAC verification failed for system:serviceaccount:mcp:extra (scope cluster): the '
                                       'account holds rights beyond its grant (remove the bindings, or the account\'s '
                                       'groups\' bindings, that give them): it may create configmaps in every namespace, '
                                       'through ClusterRoleBinding extra-configmaps (ClusterRole extra-configmaps); the '
                                       'verification table lists every check.'),
}

SURFACE_TASKS = {
    'module': {'name': 'Case', 'mcp.k8s.sa_token': {
        'name': "{{ case.name | default('server') }}",
        'namespace': "{{ case.namespace | default('mcp') }}",
        **{option: '{{ case.%s | default(omit) }}' % option for option in (
            'duration', 'audiences', 'bound_object', 'renew_before', 'kubeconfig', 'context', 'host', 'api_key',
            'ca_cert', 'validate_certs', 'proxy', 'request_timeout')}}},
    'lookup': {'name': 'Case', 'ansible.builtin.debug': {
        'msg': "{{ lookup('mcp.k8s.sa_token', case.term | default('mcp/server'), **(case.kwargs | default({}))) | length }}"}},
    'info': {'name': 'Case', 'mcp.k8s.sa_token_info': {
        'token': '{{ case.token }}',
        **{option: '{{ case.%s | default(omit) }}' % option for option in (
            'review', 'verify_signature', 'can_i', 'kubeconfig')}}},
    'role': {'name': 'Case', 'ansible.builtin.include_role': {'name': 'mcp.k8s.mcp_k8s_server'}},
    'files': {'name': 'Case', 'mcp.k8s.server_files': {
        'name': 'server', 'namespace': 'mcp', 'token': 'sekrit-files-token', 'expiration_timestamp': '2030-01-01T00:00:00Z',
        **{option: '{{ case.%s | default(omit) }}' % option for option in (
            'cluster', 'kubeconfig_path', 'credential_path', 'config_path', 'token_path')}}},
    'access': {'name': 'Case', 'mcp.k8s.sa_access': {
        'name': "{{ case.name | default('app') }}",
        'namespace': "{{ case.namespace | default('mcp') }}",
        'rules': "{{ case.rules | default([{'apiGroups': [''], 'resources': ['pods'], 'verbs': ['list']}]) }}",
        **{option: '{{ case.%s | default(omit) }}' % option for option in (
            'labels', 'adopt', 'allow_aggregation', 'verify_mint', 'scope', 'namespaces')}}},
}


def render(value, files, server, token):
    if isinstance(value, str):
        text = re.sub(r'\{files\.(\w+)\}', lambda m: getattr(files, m.group(1)), value)
        return (text.replace('{url}', server.url).replace('{ca}', server.ca_path).replace('{token}', token)
                .replace('{kubeconfig}', server.kubeconfig_path))
    if isinstance(value, dict):
        return {k: render(v, files, server, token) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, files, server, token) for v in value]
    return value


@pytest.fixture(scope='module')
def corpus(collections_path, tmp_path_factory):
    """Run every case once, each on its own host; the JSON report per case, the run, the double."""
    tmp_path = tmp_path_factory.mktemp('bad-input')
    double = KubeDouble(str(tmp_path / 'double')).start()
    try:
        double.create_service_account('server', 'mcp')
        # an account (made by its sa_access case) that holds a right through a binding of its own beyond
        # what sa_access grants it
        double.grant('system:serviceaccount:mcp:extra', ['create'], ['configmaps'], name='extra-configmaps')
        files = BadFiles(double, tmp_path / 'files')
        token = double.mint_token('server', 'mcp')
        for name, rewrite in answer_rewrites(double, token).items():
            double.create_service_account(name, 'mcp')
            double.inject_fault(r'/serviceaccounts/%s/token$' % name, rewrite=rewrite)
        inventory = {'all': {'children': {}}}
        for case, (surface, options, _expected) in CASES.items():
            group = inventory['all']['children'].setdefault(surface, {'hosts': {}})
            host_vars = {'ansible_connection': 'local', 'ansible_python_interpreter': PYTHON}
            rendered = render(options, files, double, token)
            if surface == 'role':
                host_vars.update(rendered)
                host_vars.setdefault('mcp_k8s_server_verify', False)
            else:
                host_vars['case'] = rendered
            group['hosts'][case] = host_vars
        # A play ends the whole run when every host in it failed: a host with no case keeps it going.
        anchor = {'ansible_connection': 'local', 'ansible_python_interpreter': PYTHON}
        inventory['all']['children']['anchor'] = {'hosts': {'anchor': anchor}}
        plays = [{'name': surface, 'hosts': '%s:anchor' % surface, 'gather_facts': False,
                  'tasks': [dict(task, when="inventory_hostname != 'anchor'")]}
                 for surface, task in SURFACE_TASKS.items()]
        (tmp_path / 'inventory.yml').write_text(yaml.safe_dump(inventory))
        (tmp_path / 'corpus.yml').write_text(yaml.safe_dump(plays, sort_keys=False))
        env = playbook_env(collections_path, tmp_path, double.kubeconfig_path)
        env.update({'ANSIBLE_STDOUT_CALLBACK': 'ansible.posix.json', 'ANSIBLE_FORKS': '8'})
        double.clear_requests()
        proc = ansible_playbook(['-i', tmp_path / 'inventory.yml', tmp_path / 'corpus.yml'], env, tmp_path)
        report = json.loads(proc.stdout[proc.stdout.index('{'):]) if '{' in proc.stdout else {}
        results = {}
        for play in report.get('plays', ()):
            for task in play['tasks']:
                for host, result in task['hosts'].items():
                    if result.get('failed') and host not in results:
                        results[host] = result
        yield {'proc': proc, 'report': report, 'results': results, 'double': double, 'files': files, 'token': token}
    finally:
        double.stop()


def sentence_of(surface, result):
    """The plugin's own sentence in a failed result."""
    msg = result.get('msg', '')
    if surface == 'lookup':
        msg = lookup_sentence(msg)
    return msg


def test_the_run_fails_with_rc_2_and_no_traceback(corpus):
    proc = corpus['proc']
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'Traceback (most recent call last)' not in proc.stdout + proc.stderr
    stats = corpus['report']['stats']
    assert {host for host, stat in stats.items() if stat['failures'] == 1} == set(CASES), stats
    assert all(stat['unreachable'] == 0 for stat in stats.values()) and stats['anchor']['failures'] == 0


def test_no_secret_in_any_output(corpus):
    output = corpus['proc'].stdout + corpus['proc'].stderr
    secrets = set(corpus['files'].secrets) | {corpus['token'], corpus['token'].rsplit('.', 1)[1], 'sekrit'}
    for secret in secrets:
        assert secret not in output


def test_only_cases_that_need_the_server_reach_it(corpus):
    """Options and credentials are checked before any request: only the missing objects, the
    rejected credentials and the malformed answers reach the TokenRequest endpoint, and no token
    is minted except those the malformed answers replace and the one verify_mint checks the rights
    beyond the grant with."""
    asked = sorted((entry['path'], entry['status']) for entry in corpus['double'].requests
                   if entry['method'] == 'POST' and re.search(TOKEN_PATH, entry['path']))
    answers = [('/api/v1/namespaces/mcp/serviceaccounts/%s/token' % name, 201)
               for name in answer_rewrites(corpus['double'], corpus['token'])]
    assert asked == sorted([('/api/v1/namespaces/mcp/serviceaccounts/extra/token', 201),   # verify_mint's
                            ('/api/v1/namespaces/mcp/serviceaccounts/ghost/token', 404),
                            ('/api/v1/namespaces/mcp/serviceaccounts/ghost/token', 404),
                            ('/api/v1/namespaces/mcp/serviceaccounts/server/token', 401),
                            ('/api/v1/namespaces/mcp/serviceaccounts/server/token', 401),
                            ('/api/v1/namespaces/nowhere/serviceaccounts/server/token', 404)] + answers), asked


@pytest.mark.parametrize('case', list(CASES))
def test_case_fails_with_one_clear_sentence(corpus, case):
    surface, _options, expected = CASES[case]
    result = corpus['results'].get(case)
    assert result is not None, 'case %s did not fail' % case
    message = sentence_of(surface, result)
    print('%s: %s' % (case, message))

    def fill(text):
        return render(text, corpus['files'], corpus['double'], corpus['token'])

    if isinstance(expected, re.Pattern):
        assert re.fullmatch(expected.pattern.replace('{url}', re.escape(corpus['double'].url)), message), message
    elif isinstance(expected, tuple):
        start, end = expected
        assert message.startswith(fill(start)), message
        assert message.endswith(fill(end)), message
        message = message[len('Validation of arguments failed:\n'):] if start.endswith('\n') else message
    else:
        assert message == fill(expected)
    assert '\n' not in message.strip() and message.strip(), message
    assert 'Traceback' not in json.dumps(result)
    assert result.get('exception', '(traceback unavailable)') == '(traceback unavailable)', result['exception']


def test_the_docs_table_lists_every_case():
    with open(os.path.join(os.path.dirname(__file__), '..', '..', 'docs', 'bad-input.md'), encoding='utf-8') as handle:
        table = handle.read()
    assert len(CASES) >= 40
    for case in CASES:
        assert '| `%s` |' % case in table, case


def test_a_failure_the_api_server_answered_carries_its_diagnostics_and_no_token(cluster, run_playbook, tmp_path):
    """A real 403 (an account's token that may not mint) and 404 (a missing account): the module's sentence,
    and the HTTP status, reason and the server's own Status in api_status; the traceback at -vvv (with
    DISPLAY_TRACEBACK=error on ansible-core 2.19); the connection's token nowhere in the output or log."""
    cluster.create_service_account('server', 'mcp')
    token = cluster.mint_token('server', 'mcp')
    kubeconfig = cluster.write_kubeconfig(path=str(tmp_path / 'server.kubeconfig'), token=token)
    tasks = [
        {'name': 'Mint as an account that may not', 'register': 'forbidden', 'ignore_errors': True, 'no_log': False,
         'mcp.k8s.sa_token': {'name': 'server', 'namespace': 'mcp', 'kubeconfig': kubeconfig}},
        {'name': 'Mint for a missing account', 'register': 'missing', 'ignore_errors': True,
         'mcp.k8s.sa_token': {'name': 'ghost', 'namespace': 'mcp'}},
        {'name': 'A failure without an answer', 'register': 'refused_early', 'ignore_errors': True,
         'mcp.k8s.sa_token': {'name': 'server', 'namespace': 'mcp', 'duration': 'abc'}},
        {'name': 'Record', 'ansible.builtin.copy': {
            'content': "{{ {'forbidden': forbidden, 'missing': missing, 'early': refused_early} | to_json }}",
            'dest': '{{ results_file }}', 'mode': '0600'}}]
    env = dict(hygiene_env(tmp_path), ANSIBLE_DISPLAY_TRACEBACK='error', K8S_AUTH_KUBECONFIG=cluster.kubeconfig_path)
    run = run_playbook([{'name': 'diagnostics', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}],
                       verbosity=3, env=env)
    assert run.rc == 0, str(run)
    forbidden, missing, early = run.results['forbidden'], run.results['missing'], run.results['early']
    assert forbidden['msg'].startswith('User "system:serviceaccount:mcp:server" may not create serviceaccounts/token '
                                       'in namespace "mcp" (403 Forbidden); '), forbidden['msg']
    assert (forbidden['status'], forbidden['reason']) == (403, 'Forbidden')
    status = forbidden['api_status']
    assert (status['kind'], status['status'], status['reason'], status['code']) == ('Status', 'Failure', 'Forbidden', 403)
    assert status['message'].startswith('serviceaccounts "server" is forbidden: User "system:serviceaccount:mcp:server" '
                                        'cannot create resource "serviceaccounts/token"'), status
    assert missing['msg'] == 'ServiceAccount "ghost" does not exist in namespace "mcp"; create it first or correct the name.'
    assert (missing['status'], missing['reason'], missing['api_status']['reason']) == (404, 'Not Found', 'NotFound')
    assert missing['api_status']['details'] == {'name': 'ghost', 'kind': 'serviceaccounts'}
    assert not set(early) & {'status', 'reason', 'api_status'}
    # the traceback, as ansible-core shows it at -vvv
    assert 'Traceback (most recent call last)' in run.output
    assert 'errors.K8sTokenError: User "system:serviceaccount:mcp:server" may not create' in run.output
    assert_nowhere([token], run, tmp_path / 'ansible.log', tmp_path, allowed=(kubeconfig,))
