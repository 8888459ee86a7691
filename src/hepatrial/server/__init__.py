"""The hepatrial server: a REST API under ``/api/v1`` over the same service functions and the
same authorization policy (:mod:`hepatrial.service.policy`) as the command line.

``create_app`` builds the FastAPI application; ``hepatrial serve`` runs it on uvicorn. The
server is the ``server`` extra (FastAPI, uvicorn, pydantic-settings): the core library never
imports this package. The database is the only shared state, so several workers and several
machines behind a load balancer serve the same trial.
"""
