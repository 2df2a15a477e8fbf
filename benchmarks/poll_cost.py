"""CPU cost of one status poll, in process: the steadier companion of `load.py`'s closed-loop ratio.

`load.py` measures requests/s against a bare endpoint with `wrk` over loopback; on a shared 2-core machine that
ratio moves by +-0.1 between runs, more than a few percent of code changes. Here no socket and no load
generator take part: one process builds the app exactly as `stillmotion serve` does (the same uvicorn protocol
class, the same middleware and hot path), feeds HTTP/1.1 keep-alive requests for one finished job to 20
protocol instances through an in-memory transport, and runs the event loop until each answer is written. The
figure is process CPU time per poll (min over batches of 100, after a warm-up of 500): what the Python side
of a poll costs, parsing and writing included. Variants run in separate processes, interleaved round by round.

Usage: python benchmarks/poll_cost.py [--variant LABEL[=DIR]]... [--rounds 5] [--batches 60] [--key stored|env]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

# Runs in a child process against the source tree on its PYTHONPATH (this one or an older checkout).
_CHILD = r"""
import asyncio, gc, json, logging, sys, time
from pathlib import Path

import uvicorn
from uvicorn.server import ServerState

from stillmotion.api.app import build_services, create_app
from stillmotion.config import Settings
from stillmotion.domain import JobSpec
from stillmotion.jobs import tenant_for_key

data, batches, per, key_kind = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
env_key = "sk-poll-cost-benchmark-key"
settings = Settings(data_dir=data, api_keys=env_key if key_kind == "env" else "", workers=0, rate_limit_per_min=0,
                    public_url="http://127.0.0.1:8000")
services = build_services(settings)
key = env_key if key_kind == "env" else services.store.create_key("bench")[0]
spec = JobSpec(tenant=tenant_for_key(key), model="video-01-live2d", engine="live2d", prompt="she smiles and blinks",
               image=b"\x89PNG fake bytes", image_format="png", image_width=400, image_height=600)
job = services.store.create(spec)
claim = services.store.claim(worker_id="bench", lease_s=60)
plan = {"duration_s": 6.0, "still": False, "notes": [], "optimized_prompt": "The character smiles, and blinks.",
        "tracks": [{"part": p, "action": a, "direction": None, "amplitude": 0.7, "start_s": 0.0, "end_s": 6.0,
                    "easing": "ease_in_out", "repeats": 1, "source": "prompt"}
                   for p, a in (("mouth", "smile"), ("body", "breathe"), ("hair", "wind"), ("eyes", "blink"))]}
services.store.succeed(job.id, attempt=claim.attempt, media_key=f"videos/{job.id}/1.mp4",
                       result={"duration_s": 6.0, "width": 720, "height": 1072, "extra": {"motion_plan": plan}})
app = create_app(settings, services=services)
try:
    from stillmotion.api.connections import guarded_h11_protocol
    protocol, _cap = guarded_h11_protocol(client_timeout_s=settings.client_timeout_s, max_connections=1000)
except ImportError:  # a tree from before the connection guard
    from uvicorn.protocols.http.h11_impl import H11Protocol as protocol
config = uvicorn.Config(app, http=protocol, log_config=None, access_log=False, timeout_keep_alive=5)
config.load()
logging.getLogger("stillmotion").setLevel(logging.WARNING)


class Transport:
    def __init__(self):
        self.closing, self.first = False, []
    def write(self, data):
        if len(self.first) < 2:
            self.first.append(bytes(data))
    def is_closing(self):
        return self.closing
    def close(self):
        self.closing = True
    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)
    def pause_reading(self): pass
    def resume_reading(self): pass
    def set_protocol(self, protocol): pass


request = (f"GET /v2/generate/video/minimax/generation?generation_id={job.id} HTTP/1.1\r\n"
           f"Host: 127.0.0.1:8000\r\nAuthorization: Bearer {key}\r\nUser-Agent: bench\r\n\r\n").encode()


async def main():
    loop = asyncio.get_running_loop()
    state = ServerState()
    connections = []
    for _ in range(20):
        conn, transport = protocol(config=config, server_state=state, app_state={}, _loop=loop), Transport()
        conn.connection_made(transport)
        connections.append((conn, transport))

    async def poll(index):
        conn, _ = connections[index % len(connections)]
        conn.data_received(request)
        while not conn.cycle.response_complete:
            await asyncio.sleep(0)

    for index in range(500):
        await poll(index)
    head = connections[0][1].first[0].split(b"\r\n", 1)[0].decode()
    if head != "HTTP/1.1 200 OK":
        raise SystemExit(f"the poll was not answered 200: {head}")
    costs = []
    for _ in range(batches):
        gc.collect()
        started = time.process_time()
        for index in range(per):
            await poll(index)
        costs.append((time.process_time() - started) / per * 1e6)
    return costs


print(json.dumps({"us": min(asyncio.run(main()))}))
"""


def measure(source: Path | None, *, batches: int, per: int, key: str) -> float:
    env = dict(os.environ)
    for name in ("STILLMOTION_DATABASE_URL", "STILLMOTION_API_KEYS", "STILLMOTION_DATA_DIR"):
        env.pop(name, None)
    if source is not None:
        env["PYTHONPATH"] = str(source / "src" if (source / "src").is_dir() else source)
    with tempfile.TemporaryDirectory(prefix="stillmotion-poll-cost-") as scratch:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, scratch, str(batches), str(per), key],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    if done.returncode != 0:
        raise RuntimeError(f"the measuring process failed: {done.stderr.strip()[-2000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["us"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL[=DIR]")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--per-batch", type=int, default=100)
    parser.add_argument(
        "--key",
        choices=("stored", "env"),
        default="stored",
        help="a key made by `keys create` (as load.py) or one in STILLMOTION_API_KEYS",
    )
    args = parser.parse_args()
    variants = [(label, Path(path) if path else None) for label, _, path in (v.partition("=") for v in args.variant)]
    variants = variants or [("this tree", None)]
    results: dict[str, list[float]] = {label: [] for label, _ in variants}
    for round_index in range(args.rounds):
        for label, source in variants:
            results[label].append(measure(source, batches=args.batches, per=args.per_batch, key=args.key))
        print(
            f"round {round_index + 1}: "
            + ", ".join(f"{label} {values[-1]:.0f} us" for label, values in results.items())
        )
    first = statistics.median(results[variants[0][0]])
    for label, values in results.items():
        median = statistics.median(values)
        print(
            f"{label}: median {median:.0f} us CPU per poll ({', '.join(f'{v:.0f}' for v in values)}); "
            f"x{median / first:.3f} the first variant"
        )


if __name__ == "__main__":
    main()
