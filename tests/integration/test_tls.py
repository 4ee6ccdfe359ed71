"""TLS: verification is on by default, a wrong CA fails with one sentence, and turning
verification off (validate_certs: false, or insecure-skip-tls-verify in the kubeconfig) works
and warns, for the module and the lookup."""
import pytest
import yaml

from bad_input_support import make_ca, _b64, _pem

pytestmark = pytest.mark.both_clients

WARNING = ('TLS verification of the API server at {url} is off (validate_certs is false or the kubeconfig sets '
           'insecure-skip-tls-verify), so the connection and the token can be intercepted; give the cluster CA with '
           'ca_cert or in the kubeconfig instead.')
VERIFY_FAILED = 'TLS verification of the API server at {url} failed ('
CA_FIX = '); give the cluster CA with ca_cert or in the kubeconfig.'


@pytest.fixture
def seeded_cluster(cluster):
    cluster.create_service_account('server', 'mcp')
    cluster.clear_requests()
    return cluster


def kubeconfigs(cluster, tmp_path):
    """Admin kubeconfigs: without a CA, with a foreign CA, and with insecure-skip-tls-verify."""
    with open(cluster.kubeconfig_path, encoding='utf-8') as handle:
        admin = yaml.safe_load(handle)
    paths = {}
    _key, foreign = make_ca()
    for name, change in (('no_ca', {}), ('foreign_ca', {'certificate-authority-data': _b64(_pem(foreign))}),
                         ('skip', {'insecure-skip-tls-verify': True})):
        config = yaml.safe_load(yaml.safe_dump(admin))
        del config['clusters'][0]['cluster']['certificate-authority-data']
        config['clusters'][0]['cluster'].update(change)
        path = tmp_path / ('%s.kubeconfig' % name)
        path.write_text(yaml.safe_dump(config))
        paths[name] = str(path)
    return paths


def mint(register, **options):
    return {'name': 'Mint %s' % register, 'mcp.k8s.sa_token': dict(name='server', namespace='mcp', **options),
            'register': register, 'ignore_errors': True, 'no_log': False}


def look(register, expression):
    return {'name': 'Look up %s' % register, 'ansible.builtin.set_fact': {
        register + '_claims': "{{ %s | mcp.k8s.token_claims }}" % expression}, 'register': register,
        'ignore_errors': True}


def test_verification_on_by_default_wrong_ca_fails_and_off_works_with_a_warning(seeded_cluster, run_playbook, tmp_path):
    paths = kubeconfigs(seeded_cluster, tmp_path)
    tasks = [
        mint('default_no_ca', kubeconfig=paths['no_ca']),
        mint('explicit_wrong_ca', kubeconfig=paths['foreign_ca'], validate_certs=True),
        mint('off', kubeconfig=paths['no_ca'], validate_certs=False),
        mint('off_wrong_ca', kubeconfig=paths['foreign_ca'], validate_certs=False),
        mint('skip_in_kubeconfig', kubeconfig=paths['skip']),
        look('lookup_default', "lookup('mcp.k8s.sa_token', 'mcp/server', kubeconfig='%s')" % paths['no_ca']),
        look('lookup_off', "lookup('mcp.k8s.sa_token', 'mcp/server', kubeconfig='%s', validate_certs=false)"
             % paths['no_ca']),
    ]
    record = ("{'default_no_ca': default_no_ca.msg | default(''), 'explicit_wrong_ca': explicit_wrong_ca.msg | default(''),"
              " 'off': off.claims.sub | default(off.msg), 'off_warnings': off.warnings | default([]),"
              " 'off_kubeconfig': off.kubeconfig.clusters[0].cluster | default({}),"
              " 'off_wrong_ca': off_wrong_ca.claims.sub | default(off_wrong_ca.msg),"
              " 'skip': skip_in_kubeconfig.claims.sub | default(skip_in_kubeconfig.msg),"
              " 'skip_warnings': skip_in_kubeconfig.warnings | default([]),"
              " 'lookup_default': lookup_default.msg | default(''),"
              " 'lookup_off': lookup_off_claims.sub | default(lookup_off.msg | default(''))}")
    run = run_playbook([{'name': 'tls', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks + [
        {'name': 'Record results', 'ansible.builtin.copy': {
            'content': '{{ %s | to_json }}' % record, 'dest': '{{ results_file }}', 'mode': '0600'}}]}])
    assert run.rc == 0, run
    results = run.results
    url = seeded_cluster.url
    sub = 'system:serviceaccount:mcp:server'
    # on by default, and with validate_certs: true a foreign CA fails
    for case in ('default_no_ca', 'explicit_wrong_ca'):
        assert results[case].startswith(VERIFY_FAILED.format(url=url)) and results[case].endswith(CA_FIX), results[case]
    lookup_default = results['lookup_default'].split("The lookup plugin 'mcp.k8s.sa_token' failed: ", 1)[-1]
    assert lookup_default.startswith('Cannot mint a token for ServiceAccount "mcp/server": ' + VERIFY_FAILED.format(url=url))
    # off: works, warns, and the returned kubeconfig says so too
    warning = WARNING.format(url=url)
    assert results['off'] == results['off_wrong_ca'] == results['skip'] == results['lookup_off'] == sub, results
    assert results['off_warnings'] == [warning] and results['skip_warnings'] == [warning]
    assert results['off_kubeconfig'] == {'server': url, 'insecure-skip-tls-verify': True}
    shown = ' '.join(run.output.split())
    assert '[WARNING]: ' + warning in shown, run.output[-4000:]   # Ansible shows an identical warning once
    # only the verified-off attempts reached the API server
    assert seeded_cluster.count(method='POST', path_re=r'/token$') == 4


def test_the_lookup_warns_on_its_own(seeded_cluster, run_playbook, tmp_path):
    paths = kubeconfigs(seeded_cluster, tmp_path)
    run = run_playbook([{'name': 'tls', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        look('lookup_off', "lookup('mcp.k8s.sa_token', 'mcp/server', kubeconfig='%s', validate_certs=false)"
             % paths['no_ca'])]}])
    assert run.rc == 0, run
    assert '[WARNING]: ' + WARNING.format(url=seeded_cluster.url) in ' '.join(run.output.split())
