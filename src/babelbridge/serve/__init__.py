"""`babelbridge serve`: a bridge behind HTTP, with dynamic batching (DESIGN.md layer 7).

Needs the `serve` extra (fastapi, uvicorn). limits.py and batcher.py import neither, so the
CLI can check its options and the batcher can be tested without them.
"""

from .limits import BatchConfig, ServeLimits

__all__ = ["BatchConfig", "ServeLimits", "create_app"]


def create_app(*args, **kwargs):
    from .app import create_app as create

    return create(*args, **kwargs)
