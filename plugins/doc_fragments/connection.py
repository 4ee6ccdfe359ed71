# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mcp.k8s contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Connection options shared by every plugin: ``DOCUMENTATION`` for modules, ``PLUGINS`` for lookups.

    The names, aliases and ``K8S_AUTH_*`` variables are those of ``kubernetes.core``.
    """

    DOCUMENTATION = r'''
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, a list of paths (merged as C(KUBECONFIG) merges them), or the
        kubeconfig itself as a dict. Secrets in a dict (tokens, passwords, key data) are kept out of
        logs and messages.
      - When no connection option is given, the in-cluster configuration is used when running in a
        pod, otherwise C(~/.kube/config) (or the files in E(KUBECONFIG)).
      - Can also be set with the E(K8S_AUTH_KUBECONFIG) environment variable.
    type: raw
  context:
    description:
      - The kubeconfig context to use instead of its current context.
      - Can also be set with E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the API server. With O(api_key), O(username) and O(password), or O(client_cert)
        and O(client_key), no kubeconfig is read.
      - Can also be set with E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token to authenticate with.
      - Can also be set with E(K8S_AUTH_API_KEY).
    type: str
  username:
    description:
      - User name for HTTP basic authentication (only for API servers that still accept it).
      - Can also be set with E(K8S_AUTH_USERNAME).
    type: str
  password:
    description:
      - Password for HTTP basic authentication.
      - Can also be set with E(K8S_AUTH_PASSWORD).
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate.
      - Can also be set with E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path to the CA certificate (full chain) that signed the API server's certificate.
      - Can also be set with E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Path to a client certificate to authenticate with.
      - Can also be set with E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the key of O(client_cert).
      - Can also be set with E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  proxy:
    description:
      - URL of an HTTP proxy to reach the API server through. E(HTTP_PROXY) is not read.
      - A C(user:password@) in the URL is sent as the C(Proxy-Authorization) header (unless O(proxy_headers) sets it)
        and never shown in messages.
      - Can also be set with E(K8S_AUTH_PROXY).
    type: str
  no_proxy:
    description:
      - Comma-separated hosts, domains and networks to reach without the proxy.
      - Can also be set with E(K8S_AUTH_NO_PROXY).
    type: str
  proxy_headers:
    description:
      - Headers for the proxy.
    type: dict
    suboptions:
      proxy_basic_auth:
        description:
          - C(user:password) for the proxy. Can also be set with E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH).
        type: str
      basic_auth:
        description:
          - C(user:password) for basic authentication. Can also be set with E(K8S_AUTH_PROXY_HEADERS_BASIC_AUTH).
        type: str
      user_agent:
        description:
          - User agent to send to the proxy. Can also be set with E(K8S_AUTH_PROXY_HEADERS_USER_AGENT).
        type: str
  impersonate_user:
    description:
      - User to impersonate (C(Impersonate-User)).
      - Can also be set with E(K8S_AUTH_IMPERSONATE_USER).
    type: str
  impersonate_groups:
    description:
      - Groups to impersonate (C(Impersonate-Group)).
      - Can also be set with E(K8S_AUTH_IMPERSONATE_GROUPS), comma-separated.
    type: list
    elements: str
  request_timeout:
    description:
      - Seconds to wait for each answer of the API server. Requests that fail with 429, 500, 502,
        503, 504 or a dropped connection are retried with backoff for up to 30 seconds in all.
      - Can also be set with E(K8S_AUTH_REQUEST_TIMEOUT). The default is 30 seconds.
    type: float
notes:
  - One client is built per process and connection configuration and reused by every request.
  - How the modules, the lookup, the role and the playbooks connect, in one place, with the precedence of
    each - U(https://github.com/mcp-k8s/mcp.k8s/blob/main/docs/connecting.md).
'''

    # For lookups (with the DOCUMENTATION part, which describes the options): where else each
    # option is read from. Precedence: keyword arguments, then variables, then environment, then ansible.cfg.
    PLUGINS = r'''
options:
  kubeconfig:
    env: [{name: K8S_AUTH_KUBECONFIG}]
    ini: [{section: mcp_k8s, key: kubeconfig}]
    vars: [{name: mcp_k8s_kubeconfig}]
  context:
    env: [{name: K8S_AUTH_CONTEXT}]
    ini: [{section: mcp_k8s, key: context}]
    vars: [{name: mcp_k8s_context}]
  host:
    env: [{name: K8S_AUTH_HOST}]
    ini: [{section: mcp_k8s, key: host}]
    vars: [{name: mcp_k8s_host}]
  api_key:
    env: [{name: K8S_AUTH_API_KEY}]
    vars: [{name: mcp_k8s_api_key}]
  username:
    env: [{name: K8S_AUTH_USERNAME}]
    ini: [{section: mcp_k8s, key: username}]
    vars: [{name: mcp_k8s_username}]
  password:
    env: [{name: K8S_AUTH_PASSWORD}]
    vars: [{name: mcp_k8s_password}]
  validate_certs:
    env: [{name: K8S_AUTH_VERIFY_SSL}]
    ini: [{section: mcp_k8s, key: validate_certs}]
    vars: [{name: mcp_k8s_validate_certs}]
  ca_cert:
    env: [{name: K8S_AUTH_SSL_CA_CERT}]
    ini: [{section: mcp_k8s, key: ca_cert}]
    vars: [{name: mcp_k8s_ca_cert}]
  client_cert:
    env: [{name: K8S_AUTH_CERT_FILE}]
    ini: [{section: mcp_k8s, key: client_cert}]
    vars: [{name: mcp_k8s_client_cert}]
  client_key:
    env: [{name: K8S_AUTH_KEY_FILE}]
    ini: [{section: mcp_k8s, key: client_key}]
    vars: [{name: mcp_k8s_client_key}]
  proxy:
    env: [{name: K8S_AUTH_PROXY}]
    ini: [{section: mcp_k8s, key: proxy}]
    vars: [{name: mcp_k8s_proxy}]
  no_proxy:
    env: [{name: K8S_AUTH_NO_PROXY}]
    ini: [{section: mcp_k8s, key: no_proxy}]
    vars: [{name: mcp_k8s_no_proxy}]
  proxy_headers:
    vars: [{name: mcp_k8s_proxy_headers}]
  impersonate_user:
    env: [{name: K8S_AUTH_IMPERSONATE_USER}]
    ini: [{section: mcp_k8s, key: impersonate_user}]
    vars: [{name: mcp_k8s_impersonate_user}]
  impersonate_groups:
    env: [{name: K8S_AUTH_IMPERSONATE_GROUPS}]
    ini: [{section: mcp_k8s, key: impersonate_groups}]
    vars: [{name: mcp_k8s_impersonate_groups}]
  request_timeout:
    env: [{name: K8S_AUTH_REQUEST_TIMEOUT}]
    ini: [{section: mcp_k8s, key: request_timeout}]
    vars: [{name: mcp_k8s_request_timeout}]
notes:
  - Connection options are taken, in this order, from the lookup's keyword arguments, Ansible
    variables (C(mcp_k8s_<option>)), C(K8S_AUTH_*) environment variables and the C([mcp_k8s])
    section of C(ansible.cfg).
  - How the modules, the lookup, the role and the playbooks connect, in one place, with the precedence of
    each - U(https://github.com/mcp-k8s/mcp.k8s/blob/main/docs/connecting.md).
'''
