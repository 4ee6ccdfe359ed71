"""A small JSON REST client for the real kube-apiserver, and a store with the double's interface.

Tests set up and inspect cluster state through ``objects`` whichever server they run against:
``get`` (raises :class:`kube_double.core.ApiError` like the double), ``find`` (None when
missing), ``list`` (``(items, resourceVersion)``), ``create``, ``update``, ``delete``.
"""
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

from kube_double.core import ApiError, find_resource


class Rest:
    """JSON over HTTPS with a client certificate (the admin's unless told otherwise)."""

    def __init__(self, url, ca_path, cert_path=None, key_path=None, token=None):
        self.url = url.rstrip('/')
        self.context = ssl.create_default_context(cafile=ca_path)
        if cert_path:
            self.context.load_cert_chain(cert_path, key_path)
        self.token = token
        # One opener with no proxies (the server is on loopback): urlopen() would read the proxy
        # variables from os.environ on every request, and a reset thread reading os.environ
        # while pytest sets PYTEST_CURRENT_TEST in it fails with "dictionary changed size" or
        # KeyError (seen in `make matrix`).
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                   urllib.request.HTTPSHandler(context=self.context))

    def request(self, method, path, body=None, query=None, content_type='application/json', timeout=30, headers=None):
        """Return ``(status, decoded body, headers)``; HTTP errors are answers, not exceptions.
        ``headers``: more request headers (they replace the defaults, e.g. ``Accept``)."""
        url = self.url + path
        if query:
            url += '?' + urllib.parse.urlencode(query)
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header('Accept', 'application/json')
        if data is not None:
            req.add_header('Content-Type', content_type)
        if self.token:
            req.add_header('Authorization', 'Bearer ' + self.token)
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with self._opener.open(req, timeout=timeout) as resp:  # nosec - test helper
                raw, status, headers = resp.read(), resp.status, resp.headers
        except urllib.error.HTTPError as exc:
            raw, status, headers = exc.read(), exc.code, exc.headers
        try:
            decoded = json.loads(raw.decode() or 'null')
        except ValueError:
            decoded = raw.decode(errors='replace')
        return status, decoded, headers


def resource_path(resource, name=None, namespace=None, subresource=None):
    res = find_resource(resource)
    base = '/api/%s' % res.version if not res.group else '/apis/%s/%s' % (res.group, res.version)
    if res.namespaced and namespace:
        base += '/namespaces/%s' % namespace
    base += '/' + res.plural
    if name:
        base += '/' + name
    if subresource:
        base += '/' + subresource
    return base


class RestStore:
    """The double's ``Store`` interface over the real API (as the admin)."""

    def __init__(self, rest):
        self.rest = rest

    def _call(self, method, path, body=None, query=None, ok=(200, 201, 202)):
        status, data, _headers = self.rest.request(method, path, body, query)
        if status not in ok:
            if isinstance(data, dict) and data.get('kind') == 'Status':
                raise ApiError(status, data.get('reason'), data.get('message'), data.get('details'))
            raise ApiError(status, 'Unknown', str(data))
        return data

    def get(self, resource, name, namespace=None):
        return self._call('GET', resource_path(resource, name, namespace))

    def find(self, resource, name, namespace=None):
        try:
            return self.get(resource, name, namespace)
        except ApiError as exc:
            if exc.code == 404:
                return None
            raise

    def list(self, resource, namespace=None, label_selector=None, field_selector=None):
        query = {}
        if label_selector:
            query['labelSelector'] = label_selector
        if field_selector:
            query['fieldSelector'] = field_selector
        data = self._call('GET', resource_path(resource, namespace=namespace), query=query)
        res = find_resource(resource)
        for item in data['items']:  # list items come without kind and apiVersion
            item.setdefault('kind', res.kind)
            item.setdefault('apiVersion', res.api_version)
        return data['items'], data['metadata'].get('resourceVersion')

    def create(self, resource, obj, namespace=None):
        res = find_resource(resource)
        obj = dict(obj, apiVersion=res.api_version, kind=res.kind)
        namespace = namespace or obj.get('metadata', {}).get('namespace')
        return self._call('POST', resource_path(res, namespace=namespace), obj)

    def update(self, resource, obj, name=None, namespace=None):
        res = find_resource(resource)
        meta = obj.get('metadata', {})
        name = name or meta['name']
        namespace = namespace or meta.get('namespace')
        obj = dict(obj, apiVersion=res.api_version, kind=res.kind)
        return self._call('PUT', resource_path(res, name, namespace), obj)

    def delete(self, resource, name, namespace=None, wait=True, timeout=60):
        """Delete and (by default) wait until the object is gone (namespaces: finalized)."""
        self._call('DELETE', resource_path(resource, name, namespace), ok=(200, 202))
        deadline = time.monotonic() + timeout
        while wait and self.find(resource, name, namespace) is not None:
            if time.monotonic() > deadline:
                raise AssertionError('%s %s/%s still present after %d s' % (resource, namespace, name, timeout))
            time.sleep(0.1)
