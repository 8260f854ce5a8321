"""The `genart` command line: list the registry, generate images, serve the app."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import InputError
from .loading import LoadError
from .registry import TASKS, Registry


def _offline_capable(pipeline_class: str) -> bool:
    from .loading import NON_DIFFUSERS_LOADERS
    from .tiny import STANDIN_CLASSES

    return pipeline_class in STANDIN_CLASSES or pipeline_class in NON_DIFFUSERS_LOADERS


def models_markdown(specs) -> str:
    """The model table as Markdown (the README's table is this output)."""
    lines = ["| id | model | family | tasks | Hub repo | pipeline | licence |", "|---|---|---|---|---|---|---|"]
    for s in specs:
        lines.append(f"| `{s.id}` | {s.name} | {s.family} | {', '.join(s.tasks)} | `{s.repo}` | {s.pipeline} | {s.licence} |")
    return "\n".join(lines)


def cmd_models(args: argparse.Namespace) -> int:
    registry = Registry.load()
    specs = registry.for_tasks([args.task]) if args.task else list(registry)
    rows = [
        {
            "id": s.id,
            "tasks": list(s.tasks),
            "family": s.family,
            "repo": s.repo,
            "pipeline": s.pipeline,
            "licence": s.licence,
            "offline": _offline_capable(s.standin_class),
        }
        for s in specs
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if args.markdown:
        print(models_markdown(specs))
        return 0
    header = ("id", "tasks", "family", "repo", "offline")
    table = [header] + [(r["id"], ",".join(r["tasks"]), r["family"], r["repo"], "yes" if r["offline"] else "no") for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from .studio import Studio
    from .tasks.generate import GenerateRequest, generate

    studio = Studio.create()
    print(studio.notice, file=sys.stderr)
    request = GenerateRequest(
        model=args.model,
        prompt=args.prompt or "",
        negative_prompt=args.negative_prompt or "",
        steps=args.steps,
        guidance=args.guidance,
        width=args.width,
        height=args.height,
        seed=args.seed,
        batch=args.batch,
        scheduler=args.scheduler,
        class_label=args.class_label,
        refine=args.refine,
    )

    def progress(done: int, total: int, desc: str) -> None:
        end = "\n" if done >= total else ""
        print(f"\r{desc} {done}/{total}", end=end, file=sys.stderr, flush=True)

    result = generate(studio, request, progress=progress, output_dir=Path(args.out))
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for path in result.paths:
        print(path)
    return 0


def _progress(done: int, total: int, desc: str) -> None:
    print(f"\r{desc} {done}/{total}", end="\n" if done >= total else "", file=sys.stderr, flush=True)


def _report(paths, notes) -> int:
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for path in paths:
        print(path)
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    from .studio import Studio
    from .tasks.translate import TranslateRequest, translate

    studio = Studio.create()
    print(studio.notice, file=sys.stderr)
    request = TranslateRequest(
        model=args.model, image=args.image, prompt=args.prompt, negative_prompt=args.negative_prompt,
        strength=args.strength, image_guidance=args.image_guidance, steps=args.steps, guidance=args.guidance,
        width=args.width, height=args.height, fit=args.fit, seed=args.seed, batch=args.batch, scheduler=args.scheduler,
    )
    result = translate(studio, request, progress=_progress, output_dir=Path(args.out))
    return _report(result.paths, result.notes)


def cmd_inpaint(args: argparse.Namespace) -> int:
    from .studio import Studio
    from .tasks.inpaint import InpaintRequest, inpaint

    studio = Studio.create()
    print(studio.notice, file=sys.stderr)
    request = InpaintRequest(
        model=args.model, image=args.image, mask=args.mask, prompt=args.prompt, negative_prompt=args.negative_prompt,
        strength=args.strength, steps=args.steps, guidance=args.guidance, width=args.width, height=args.height,
        seed=args.seed, batch=args.batch, scheduler=args.scheduler, mask_blur=args.mask_blur,
        only_masked=args.only_masked, padding=args.padding, outpaint=tuple(args.outpaint),
    )
    result = inpaint(studio, request, progress=_progress, output_dir=Path(args.out))
    return _report(result.paths, result.notes)


def cmd_upscale(args: argparse.Namespace) -> int:
    from .studio import Studio
    from .tasks.upscale import UpscaleRequest, upscale

    studio = Studio.create()
    print(studio.notice, file=sys.stderr)
    request = UpscaleRequest(
        model=args.model, image=args.image, prompt=args.prompt, negative_prompt=args.negative_prompt,
        noise_level=args.noise_level, steps=args.steps, guidance=args.guidance, seed=args.seed,
        scheduler=args.scheduler, tile=args.tile, overlap=args.overlap, reference=args.reference,
    )
    result = upscale(studio, request, progress=_progress, output_dir=Path(args.out))
    for name, value in result.metrics.items():
        print(f"{name}: {value}", file=sys.stderr)
    return _report([result.path], result.notes)


def cmd_video(args: argparse.Namespace) -> int:
    from .studio import Studio
    from .tasks.video import VideoRequest, generate_video

    studio = Studio.create()
    print(studio.notice, file=sys.stderr)
    request = VideoRequest(
        model=args.model, prompt=args.prompt or "", negative_prompt=args.negative_prompt, image=args.image,
        frames=args.frames, fps=args.fps, steps=args.steps, guidance=args.guidance, width=args.width,
        height=args.height, seed=args.seed, scheduler=args.scheduler, decode_chunk=args.decode_chunk,
    )
    result = generate_video(studio, request, progress=_progress, output_dir=Path(args.out))
    return _report([result.mp4, result.mp4.with_suffix(".json"), result.gif], result.notes)


def _image_task_parser(sub, name: str, help_text: str, func) -> argparse.ArgumentParser:
    """The options every image task shares."""
    p = sub.add_parser(name, help=help_text)
    p.add_argument("--model", required=True, help="registry id (see `genart models --task ...`)")
    p.add_argument("--image", required=True, help="input image file")
    p.add_argument("--prompt", default="")
    p.add_argument("--negative-prompt", default="")
    p.add_argument("--steps", type=int)
    p.add_argument("--guidance", type=float)
    p.add_argument("--seed", type=int, default=-1)
    p.add_argument("--scheduler")
    p.add_argument("--out", default="outputs", help="directory for the PNGs")
    p.set_defaults(func=func)
    return p


def cmd_serve(args: argparse.Namespace) -> int:
    from .ui.app import launch

    launch(host=args.host, port=args.port, share=args.share)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import entry_points

    from .cli_eval import add_eval_parser
    from .cli_spaces import add_spaces_parser

    parser = argparse.ArgumentParser(prog="genart", description="Compare generative image and video models.")
    sub = parser.add_subparsers(dest="command", required=True)

    models = sub.add_parser("models", help="list the model registry")
    models.add_argument("--task", choices=TASKS, help="only models serving this task")
    models.add_argument("--json", action="store_true", help="machine-readable output")
    models.add_argument("--markdown", action="store_true", help="a Markdown table (as in the README)")
    models.set_defaults(func=cmd_models)

    gen = sub.add_parser("generate", help="generate images and write PNGs with their settings")
    gen.add_argument("--model", required=True, help="registry id (see `genart models`)")
    gen.add_argument("--prompt", default="")
    gen.add_argument("--negative-prompt", default="")
    gen.add_argument("--steps", type=int, help="denoising steps (default: the model's)")
    gen.add_argument("--guidance", type=float, help="classifier-free guidance scale")
    gen.add_argument("--width", type=int)
    gen.add_argument("--height", type=int)
    gen.add_argument("--seed", type=int, default=-1, help="-1 = random; image i uses seed + i")
    gen.add_argument("--scheduler", help="sampler name, e.g. 'DPM++ 2M Karras'")
    gen.add_argument("--batch", type=int, default=1)
    gen.add_argument("--class-label", help="class-conditional models: ImageNet class name or index")
    gen.add_argument("--refine", action="store_true", help="SDXL: finish with the refiner")
    gen.add_argument("--out", default="outputs", help="directory for the PNGs")
    gen.set_defaults(func=cmd_generate)

    tr = _image_task_parser(sub, "translate", "image-to-image: img2img, InstructPix2Pix, ControlNet, GAN", cmd_translate)
    tr.add_argument("--strength", type=float, help="img2img: 0 keeps the input, 1 ignores it")
    tr.add_argument("--image-guidance", type=float, help="InstructPix2Pix image guidance")
    tr.add_argument("--width", type=int)
    tr.add_argument("--height", type=int)
    tr.add_argument("--fit", default="resize", help="how the input is fitted to the size: resize, crop or pad")
    tr.add_argument("--batch", type=int, default=1)

    ip = _image_task_parser(sub, "inpaint", "repaint the white area of a mask, or outpaint", cmd_inpaint)
    ip.add_argument("--mask", help="mask image: white = repaint")
    ip.add_argument("--strength", type=float)
    ip.add_argument("--width", type=int, help="working width")
    ip.add_argument("--height", type=int, help="working height")
    ip.add_argument("--batch", type=int, default=1)
    ip.add_argument("--mask-blur", type=int, default=4)
    ip.add_argument("--only-masked", action="store_true", help="work on a crop around the mask")
    ip.add_argument("--padding", type=int, default=32)
    ip.add_argument("--outpaint", type=int, nargs=4, default=[0, 0, 0, 0], metavar=("LEFT", "RIGHT", "UP", "DOWN"))

    up = _image_task_parser(sub, "upscale", "super-resolve with a diffusion or GAN upscaler", cmd_upscale)
    up.add_argument("--noise-level", type=int)
    up.add_argument("--tile", type=int, help="input pixels per tile side")
    up.add_argument("--overlap", type=int, default=16)
    up.add_argument("--reference", help="high-resolution reference for PSNR/SSIM")

    vid = sub.add_parser("video", help="text-to-video or image-to-video; writes mp4 (+ .json and .gif)")
    vid.add_argument("--model", required=True, help="registry id (see `genart models --task text-to-video`)")
    source = vid.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", help="text-to-video models")
    source.add_argument("--image", help="image-to-video models: the image to animate")
    vid.add_argument("--negative-prompt", default="")
    vid.add_argument("--frames", type=int)
    vid.add_argument("--fps", type=int)
    vid.add_argument("--steps", type=int)
    vid.add_argument("--guidance", type=float)
    vid.add_argument("--width", type=int)
    vid.add_argument("--height", type=int)
    vid.add_argument("--seed", type=int, default=-1)
    vid.add_argument("--scheduler")
    vid.add_argument("--decode-chunk", type=int, help="frames decoded at a time (image-to-video)")
    vid.add_argument("--out", default="outputs")
    vid.set_defaults(func=cmd_video)

    add_eval_parser(sub)
    add_spaces_parser(sub)
    for plugin in entry_points(group="genart.cli"):  # packages built on genart add commands (the leaderboard)
        plugin.load()(sub)

    serve = sub.add_parser("serve", help="start the web app (same as `python app.py`)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--share", action="store_true")
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (InputError, LoadError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
