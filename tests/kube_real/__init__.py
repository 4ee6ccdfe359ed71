"""A real Kubernetes control plane for the tests, built from Go modules (see README.md)."""
from .build import BuildError, ensure_binaries
from .control_plane import ControlPlane

__all__ = ['BuildError', 'ControlPlane', 'ensure_binaries']
