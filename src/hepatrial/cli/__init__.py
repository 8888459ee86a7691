"""Command-line front end: thin Typer commands over the library functions.

Each module in this package that defines ``register(app)`` adds its commands to the single
``hepatrial`` application assembled in :mod:`hepatrial.cli.main`.

The command line is the ``cli`` extra (Typer and Rich): the core library installs without it,
so importing this package without Typer says which extra to install instead of a traceback.
"""

import importlib.util

if importlib.util.find_spec("typer") is None or importlib.util.find_spec("rich") is None:
    raise SystemExit(
        "hepatrial: the command line needs the 'cli' extra (Typer and Rich); "
        "install it with: pip install 'hepatrial[cli]'"
    )
