"""OpenAPI v3 documents (placeholder)."""


def document(parts, double):
    return None
