"""The `genart` command line: the model list, generate writing PNGs, errors with exit code 2."""

import argparse
import dataclasses
import json
import re
import shlex
from pathlib import Path

import pytest

from genart_demo.cli import TASK_COMMANDS, build_parser, models_markdown
from genart_demo.cli_common import request_from_args
from genart_demo.media import read_png_settings
from genart_demo.registry import Registry
from genart_demo.tasks.inpaint import InpaintRequest

ROOT = Path(__file__).resolve().parents[1]


def test_models_json_lists_every_entry(genart_cli):
    proc = genart_cli("models", "--json")
    rows = json.loads(proc.stdout)
    assert [r["id"] for r in rows] == Registry.load().ids()
    assert all(r["offline"] for r in rows)
    sd15 = next(r for r in rows if r["id"] == "sd15")
    assert sd15["repo"] == "stable-diffusion-v1-5/stable-diffusion-v1-5" and sd15["tasks"] == ["text-to-image"]


def test_models_task_filter(genart_cli):
    proc = genart_cli("models", "--task", "unconditional")
    ids = [line.split()[0] for line in proc.stdout.splitlines()[1:]]
    assert ids == ["ddpm-cifar10", "ddim-cifar10", "ddpm-celebahq", "ddim-church", "ncsnpp-celebahq", "ldm-celebahq"]


def test_readme_model_table_matches_the_registry():
    readme = (ROOT / "README.md").read_text()
    assert models_markdown(list(Registry.load())) in readme


def test_generate_writes_pngs_and_prints_paths(genart_cli, tmp_path):
    proc = genart_cli(
        "generate",
        "--model",
        "sd15",
        "--prompt",
        "a red fox",
        "--steps",
        "2",
        "--seed",
        "5",
        "--batch",
        "2",
        "--width",
        "64",
        "--height",
        "48",
        "--scheduler",
        "UniPC",
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    paths = [Path(p) for p in proc.stdout.split()]
    assert len(paths) == 2 and all(p.exists() for p in paths)
    settings = [read_png_settings(p) for p in paths]
    assert [s.seed for s in settings] == [5, 6]
    assert settings[0].scheduler == "UniPC" and (settings[0].width, settings[0].height) == (64, 48)
    assert "tiny random-weight stand-in" in proc.stderr  # says plainly where outputs come from


def test_errors_exit_2_with_a_message(genart_cli, tmp_path):
    proc = genart_cli("generate", "--model", "sd99", "--prompt", "x", "--out", str(tmp_path))
    assert proc.returncode == 2 and re.search(r"error: Unknown model 'sd99'. Known models: ddpm-cifar10", proc.stderr)
    proc = genart_cli("generate", "--model", "sd15", "--out", str(tmp_path))
    assert proc.returncode == 2 and "prompt is empty" in proc.stderr
    assert not list(tmp_path.rglob("*.png"))


def test_image_task_commands_write_pngs(genart_cli, tmp_path):
    from PIL import Image

    photo, mask = tmp_path / "in.png", tmp_path / "mask.png"
    Image.new("RGB", (72, 64), (30, 120, 200)).save(photo)
    m = Image.new("L", (72, 64), 0)
    m.paste(255, (20, 20, 40, 40))
    m.save(mask)
    out = tmp_path / "out"
    runs = [
        (
            "translate",
            "--model",
            "sd15-img2img",
            "--image",
            str(photo),
            "--prompt",
            "x",
            "--steps",
            "2",
            "--strength",
            "0.5",
        ),
        (
            "inpaint",
            "--model",
            "sd15-inpaint",
            "--image",
            str(photo),
            "--mask",
            str(mask),
            "--prompt",
            "x",
            "--steps",
            "2",
        ),
        ("upscale", "--model", "realesrgan-x4plus", "--image", str(photo)),
    ]
    for args in runs:
        proc = genart_cli(*args, "--seed", "4", "--out", str(out))
        assert proc.returncode == 0, proc.stderr[-2000:]
        path = Path(proc.stdout.split()[-1])
        settings = read_png_settings(path)
        assert settings.model == args[2] and settings.seed == 4
    assert Image.open(path).size == (288, 256)
    proc = genart_cli("inpaint", "--model", "sd15-inpaint", "--image", str(photo), "--prompt", "x", "--out", str(out))
    assert proc.returncode == 2 and "No mask" in proc.stderr


def test_video_command_writes_mp4_json_and_gif(genart_cli, tmp_path):
    from genart_demo.video import probe_mp4

    proc = genart_cli(
        "video",
        "--model",
        "animatediff-sd15",
        "--prompt",
        "a boat",
        "--frames",
        "6",
        "--fps",
        "12",
        "--steps",
        "2",
        "--seed",
        "3",
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    mp4, sidecar, gif = (Path(p) for p in proc.stdout.split())
    info = probe_mp4(mp4)
    assert (info.frames, info.fps, info.codec) == (6, 12, "h264") and info.metadata["seed"] == 3
    assert sidecar.suffix == ".json" and gif.suffix == ".gif"
    proc = genart_cli("video", "--model", "svd-xt", "--prompt", "a boat", "--out", str(tmp_path))
    assert proc.returncode == 2 and "give an input image" in proc.stderr


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, parser) for every command and subcommand of the CLI."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


def test_every_command_answers_help(capsys):
    commands = list(_commands(build_parser()))
    assert len(commands) > 30 and ("eval", "fid") in {p for p, _ in commands}
    for path, _ in commands:  # `genart eval fid --help` used to crash in argparse (a tuple metavar)
        with pytest.raises(SystemExit) as done:
            build_parser().parse_args([*path, "--help"])
        assert done.value.code == 0, path
        assert capsys.readouterr().out.startswith("usage: genart"), path


def test_task_options_come_from_the_request_fields():
    parser = build_parser()
    for command, (cls, *_) in TASK_COMMANDS.items():
        args = parser.parse_args(
            [command, "--model", "m", *(["--image", "x.png"] if command in {"translate", "inpaint", "upscale"} else [])]
        )
        request = request_from_args(cls, args)
        defaults = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
        assert {k: getattr(request, k) for k in defaults} == defaults, command  # each default declared once
        assert request.model == "m"
    args = parser.parse_args(
        shlex.split("inpaint --model m --image i --outpaint 1 2 3 4 --only-masked --negative-prompt blur")
    )
    request = request_from_args(InpaintRequest, args)
    assert (request.outpaint, request.only_masked, request.negative_prompt) == ((1, 2, 3, 4), True, "blur")
    assert args.out is None  # --out defaults to the settings' output folder (GENART_OUTPUT_DIR)
