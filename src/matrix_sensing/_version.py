"""The package's version, for modules that must not import the package's top level."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("matrix-sensing")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"
