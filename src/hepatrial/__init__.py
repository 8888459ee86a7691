"""hepatrial: design, run and analyse randomized trials of cell therapy in liver disease.

Capabilities live in one package each and data flows one way::

    scores/units -> protocol -> allocation -> store -> analysis -> stats -> report
                                   \\-> simulate / design (reuse allocation and stats)

The core library never imports a web framework; the command line (``hepatrial.cli``) is a thin
front end over the same functions.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hepatrial")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
