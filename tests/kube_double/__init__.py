"""A Kubernetes API server double for the collection's tests (see README.md)."""
from .server import KubeDouble  # noqa: F401

__all__ = ['KubeDouble']
