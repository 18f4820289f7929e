"""acn_sklearn: AtomCloudNet and kernel baselines for molecular properties, sklearn style."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("acn-sklearn")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["__version__"]
