"""Command-line front end: thin Typer commands over the library functions.

Each module in this package that defines ``register(app)`` adds its commands to the single
``hepatrial`` application assembled in :mod:`hepatrial.cli.main`.
"""
