"""`stillmotion generate`: one video from an image and a prompt, locally or on a server."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Final

import click
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from stillmotion import runtime
from stillmotion.cli._common import _settings, console, main, started
from stillmotion.domain import InvalidInput
from stillmotion.domain.options import check_render_options

if TYPE_CHECKING:
    from stillmotion.client.models import MotionPlan


_IMAGE_URI = ("http://", "https://", "data:")


def _image_argument(image: str, *, remote: bool) -> str | Path:
    """IMAGE as the chosen mode takes it: a file (both modes) or, for --server, an http(s) URL / data: URI
    that the server reads itself."""
    if remote and image.strip().lower().startswith(_IMAGE_URI):
        return image.strip()
    path = Path(image)
    if not path.is_file():
        also = " or an http(s) URL" if remote else ""
        raise click.BadParameter(f"{image!r} is not a file{also}", param_hint="IMAGE")
    return path


@main.command()
@click.argument("image")
@click.option("--prompt", "-p", required=True, help="What should happen in the video.")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The mp4 to write."
)
@click.option("--model", default="video-01-live2d", show_default=True, help="Model id.")
@click.option("--seed", type=int, default=None, help="Same seed and image give the same video.")
@click.option("--no-prompt-optimizer", is_flag=True, help="Take the prompt literally.")
@click.option("--duration", "duration_s", type=float, default=None, help="Seconds of video (default 6).")
@click.option("--fps", type=int, default=None, help="Frames per second (default 25).")
@click.option("--loop", is_flag=True, default=None, help="End on the first frame, for seamless looping.")
@click.option(
    "--server",
    metavar="URL",
    envvar="STILLMOTION_BASE_URL",
    default=None,
    help="Render on this server (stillmotion or the hosted AI/ML API) instead of locally "
    "(default: $STILLMOTION_BASE_URL).",
)
@click.option(
    "--api-key", envvar="STILLMOTION_API_KEY", default=None, help="Key for --server (default: $STILLMOTION_API_KEY)."
)
def generate(
    image: str,
    prompt: str,
    output: Path,
    model: str,
    seed: int | None,
    no_prompt_optimizer: bool,
    duration_s: float | None,
    fps: int | None,
    loop: bool | None,
    server: str | None,
    api_key: str | None,
) -> None:
    """Render IMAGE into a video: locally with the server's engine (no server needed), or with --server URL
    on a running server through the Python SDK."""
    # The bounds a server enforces, here too: a local render of what a server would refuse is refused the same.
    try:
        check_render_options(prompt=prompt, duration_s=duration_s, fps=fps, seed=seed, names=_OPTION_NAMES)
    except InvalidInput as exc:
        raise click.BadParameter(exc.rule, param_hint=f"'{exc.field}'") from None
    if server is not None:
        if not api_key:
            from stillmotion.client._core import key_from_env

            api_key = key_from_env()  # the key's earlier name, $STILLMOTION_KEY, with a warning
        if not api_key:
            raise click.UsageError("--server needs an API key: pass --api-key or set STILLMOTION_API_KEY")
        _generate_remote(
            _image_argument(image, remote=True),
            prompt,
            output,
            server=server,
            api_key=api_key,
            model=model,
            prompt_optimizer=not no_prompt_optimizer,
            seed=seed,
            duration_s=duration_s,
            fps=fps,
            loop=loop,
        )
        return
    _generate_local(
        _image_argument(image, remote=False),
        prompt,
        output,
        model=model,
        prompt_optimizer=not no_prompt_optimizer,
        seed=seed,
        duration_s=duration_s,
        fps=fps,
        loop=bool(loop),
    )


# The command line's name for each render option `check_render_options` names.
_OPTION_NAMES: Final = {"prompt": "--prompt", "duration": "--duration", "fps": "--fps", "seed": "--seed"}


def _generate_local(
    image: str | Path,
    prompt: str,
    output: Path,
    *,
    model: str,
    prompt_optimizer: bool,
    seed: int | None,
    duration_s: float | None,
    fps: int | None,
    loop: bool,
) -> None:
    from stillmotion.domain.options import DEFAULT_DURATION_S, DEFAULT_FPS
    from stillmotion.engines import EngineError, RenderRequest, load_engine
    from stillmotion.media.intake import check_image

    try:
        spec = started(lambda: runtime.registry(_settings())).spec(model, field="--model")
        frame = check_image(Path(image).read_bytes())
    except InvalidInput as exc:
        raise click.BadParameter(exc.rule, param_hint=exc.field if exc.field.startswith("--") else "IMAGE") from None
    try:
        engine = load_engine(spec)
    except EngineError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from None
    except ImportError as exc:
        raise click.ClickException(
            f"the {spec.engine} engine cannot be loaded ({exc}); is its extra installed? "
            "from the clone: .venv/bin/pip install -e '.[diffusion]'"
        ) from None
    request = RenderRequest(
        image=frame.data,
        prompt=prompt,
        prompt_optimizer=prompt_optimizer,
        seed=seed,
        duration_s=DEFAULT_DURATION_S if duration_s is None else duration_s,
        fps=DEFAULT_FPS if fps is None else fps,
        loop=loop,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    with Progress(
        TextColumn("[bold]rendering"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(), console=console
    ) as bar:
        task = bar.add_task("render", total=1.0)
        try:
            result = engine.render(request, output, on_progress=lambda f: bar.update(task, completed=f))
        except EngineError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
    console.print(f"wrote {output} ({result.width}x{result.height}, {result.frame_count} frames at {result.fps} fps)")
    from stillmotion.client.models import motion_plan_from_dict

    _print_plan(motion_plan_from_dict(result.extra.get("motion_plan")))


def _print_plan(plan: MotionPlan | None) -> None:
    """What the engine drew and what it did not, under the result: a prompt's words never vanish unseen."""
    if plan is None:
        return
    drawn = ", ".join(plan.drawn) if plan.drawn else "nothing (a still clip)"
    console.print(f"drew: {drawn}", highlight=False)
    for note in plan.notes:
        console.print(f"[yellow]not drawn:[/] {note}", highlight=False)


def _generate_remote(
    image: str | Path,
    prompt: str,
    output: Path,
    *,
    server: str,
    api_key: str,
    model: str,
    prompt_optimizer: bool,
    seed: int | None,
    duration_s: float | None,
    fps: int | None,
    loop: bool | None,
) -> None:
    """create -> wait (a progress bar: the server's percent when it reports one, its status otherwise) ->
    download. Any failure is one line on stderr and exit status 1."""
    from stillmotion.client import Client, ClientError, Generation

    generation_id: str | None = None
    try:
        with (
            Client(server, api_key) as client,
            Progress(
                TextColumn("[bold]{task.description:<10}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,  # on failure, the one error line is all that stays on screen
                disable=not console.is_terminal,
            ) as bar,
        ):
            task = bar.add_task("uploading", total=None)
            created = client.create(
                image,
                prompt,
                model=model,
                prompt_optimizer=prompt_optimizer,
                duration_s=duration_s,
                fps=fps,
                seed=seed,
                loop=loop,
                # A fresh key per run: a create whose answer was lost in transit is retried without a duplicate.
                idempotency_key=f"stillmotion-cli-{uuid.uuid4()}",
            )
            generation_id = created.id

            statuses_logged: list[str] = []

            def show(generation: Generation) -> None:
                if not console.is_terminal and statuses_logged[-1:] != [generation.status]:
                    statuses_logged.append(generation.status)  # no bar in a log: one line per status instead
                    console.print(f"{generation.id}: {generation.status}", highlight=False)
                if generation.progress is None:  # a server without the extension: the status is all there is
                    bar.update(task, description=generation.status, total=None)
                else:
                    bar.update(task, description=generation.status, total=100, completed=generation.progress)

            show(created)
            done = client.wait(created, on_progress=show, poll_interval_s=1.0)
            bar.update(task, description="downloading", total=None)
            client.download(done, output)
            bar.update(task, description="done", total=100, completed=100)
    except KeyboardInterrupt:
        if generation_id is not None:
            _cancel_quietly(server, api_key, generation_id)
        console.print("[red]interrupted[/]")
        sys.exit(130)
    except (ClientError, OSError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        sys.exit(1)
    console.print(f"wrote {output} (generation {done.id} on {client.base_url})", highlight=False)
    _print_plan(done.plan)


def _cancel_quietly(server: str, api_key: str, generation_id: str) -> None:
    from stillmotion.client import Client, ClientError

    try:
        with Client(server, api_key, timeout_s=5.0, max_retries=0) as client:
            client.cancel(generation_id)
        console.print(f"cancelled generation {generation_id}")
    except ClientError as exc:
        console.print(f"generation {generation_id} may still be running ({exc})", highlight=False)
