"""trapline: run machine-learning pipelines over field images and keep what the models found."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("trapline")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
