"""The load benchmark's baseline: a bare FastAPI JSON endpoint, served by uvicorn exactly as `stillmotion serve`
serves the real app (same uvicorn configuration), so that the difference between the two is the service's own
work per request: authentication, the database read and the wire model.

Usage: python benchmarks/bare_app.py --port 8100
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from fastapi import FastAPI

from stillmotion.cli import freeze_startup_objects


def create_bare_app() -> FastAPI:
    app = FastAPI(title="bare baseline")

    @app.get("/bare")
    async def bare() -> dict[str, Any]:
        # About the size and shape of a finished generation as the AI/ML route returns it.
        return {
            "id": "0123456789abcdef0123",
            "status": "completed",
            "video": {"url": "http://127.0.0.1:8000/media/0123456789abcdef0123.mp4?expires=1&sig=" + "0" * 43},
        }

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The same Config as `stillmotion serve` (src/stillmotion/cli/serve.py).
    server = uvicorn.Server(
        uvicorn.Config(create_bare_app(), host=args.host, port=args.port, log_level="info", access_log=False)
    )
    freeze_startup_objects()  # as `stillmotion serve` does before it serves
    server.run()


if __name__ == "__main__":
    main()
