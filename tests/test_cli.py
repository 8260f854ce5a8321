"""The `genart` command line: the model list, generate writing PNGs, errors with exit code 2, what each command
imports (help and the model list import no heavy library) and what it prints (no known library noise)."""

import argparse
import dataclasses
import json
import logging
import os
import re
import shlex
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from genart_demo.cli import PLUGIN_GROUP, TASK_COMMANDS, build_parser, models_markdown, plugin_help
from genart_demo.cli_common import request_from_args
from genart_demo.media import read_png_settings
from genart_demo.quiet import _FILTERS, NOISY_LOG_LINES, silence_library_noise
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
    assert ids == [
        "ddpm-cifar10",
        "ddim-cifar10",
        "ddpm-celebahq",
        "ddim-church",
        "ncsnpp-celebahq",
        "ldm-celebahq",
        "stylegan-ffhq-128",
    ]


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


def _imported(cache_dir: Path, *argv: str, script: tuple[str, ...] = ("-m", "genart_demo.cli")):
    """(the CompletedProcess, the modules it imported) of one offline CLI run under `python -X importtime`."""
    env = {**os.environ, "GENART_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "GENART_CACHE_DIR": str(cache_dir)}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *script, *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    modules = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    proc.stderr = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("import time:"))
    return proc, modules


HEAVY_FOR_HELP = {"torch", "diffusers", "transformers", "gradio", "pandas", "sqlalchemy", "huggingface_hub"}


@pytest.mark.parametrize(
    "script, argv",
    [
        (("-m", "genart_demo.cli"), ("--help",)),
        (("app.py",), ("--help",)),
        (("-m", "genart_demo.cli"), ("models",)),
        (("-m", "genart_demo.cli"), ("models", "--markdown")),
        (("-m", "genart_demo.cli"), ("generate", "--help")),
    ],
)
def test_help_and_the_model_list_import_no_heavy_library(cache_dir, script, argv):
    """`genart --help`, `python app.py --help` and `genart models` answer in well under a second: none of them
    imports torch, diffusers, Gradio, or the pandas and SQLAlchemy the arena and leaderboard plugins need."""
    proc, modules = _imported(cache_dir, *argv, script=script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage:") or "sd15" in proc.stdout
    assert not HEAVY_FOR_HELP & modules, sorted(HEAVY_FOR_HELP & modules)


def test_top_level_help_describes_plugins_without_loading_them():
    """The listed help line of a plugin's command is the one its register() gives, read from its source."""
    loaded, listed = build_parser().format_help(), build_parser(["--help"]).format_help()
    assert listed == loaded
    assert "arena               votes, ratings and rating sessions of the arena" in listed
    plugins = {p.name: p for p in entry_points(group=PLUGIN_GROUP)}
    assert plugin_help(plugins["leaderboard"]).startswith("benchmark prompt sets (DrawBench, PartiPrompts, GenEval")


def test_a_plugin_command_loads_its_plugin_only():
    parser = build_parser(["arena", "export", "--out", "votes.csv"])
    args = parser.parse_args(["arena", "export", "--out", "votes.csv"])
    assert args.out == "votes.csv" and callable(args.func)
    with pytest.raises(SystemExit):  # the leaderboard is only named: its subcommands are not there
        parser.parse_args(["leaderboard", "show", "runs/x"])


def test_a_standin_generation_imports_what_it_runs_and_says_offline_once(genart_cli, cache_dir, tmp_path):
    """A one-step stand-in generation loads its saved stand-in without the stand-in builders (every diffusers
    pipeline module), the plugins' pandas and SQLAlchemy or Gradio; its stderr says offline once."""
    first = genart_cli("generate", "--model", "sd15", "--prompt", "a cat", "--steps", "1", "--out", str(tmp_path))
    assert first.returncode == 0, first.stderr[-2000:]
    argv = ("generate", "--model", "sd15", "--prompt", "a cat", "--steps", "1", "--width", "64", "--height", "64")
    proc, modules = _imported(cache_dir, *argv, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.count("tiny random-weight stand-in") == 1  # the notice; Studio.create's warning said it again
    assert Path(proc.stdout.split()[0]).exists()
    assert {"torch", "diffusers"} <= modules
    assert not {"pandas", "sqlalchemy", "gradio", "genart_demo.tiny.builders"} & modules


NOISE = (
    "Expected types for id2label",
    "has been deprecated and will not receive bug fixes",
    "should be kept in float32: []",
    "were passed to",  # a real repo's scheduler config with keys of older diffusers versions
    "`use_return_dict` is deprecated",
)


@pytest.mark.parametrize(
    "argv",
    [
        ("generate", "--model", "dit-xl-256", "--steps", "1"),  # id2label
        ("generate", "--model", "ldm-text2im", "--prompt", "a cat", "--steps", "1"),  # scheduler keys, return_dict
        ("video", "--model", "modelscope-t2v", "--prompt", "a cat", "--steps", "1", "--frames", "4"),  # deprecated
        ("video", "--model", "animatediff-sd15", "--prompt", "a cat", "--steps", "1", "--frames", "4"),  # float32: []
    ],
)
def test_known_library_noise_is_not_printed(genart_cli, tmp_path, argv):
    proc = genart_cli(*argv, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not [line for line in proc.stderr.splitlines() if any(noise in line for noise in NOISE)]


def _kept(logger_name: str, message: str) -> bool:
    logger = logging.getLogger(logger_name)
    return bool(logger.filter(logger.makeRecord(logger_name, logging.WARNING, __file__, 0, message, (), None)))


def test_the_noise_filter_drops_only_the_known_lines():
    silence_library_noise()
    silence_library_noise()  # a second call adds no second filter
    # one copy of genart's filter per logger (other code, and earlier tests, may add filters of their own)
    assert all(logging.getLogger(name).filters.count(_FILTERS[name]) == 1 for name in NOISY_LOG_LINES)
    modeling, pipelines = "diffusers.models.modeling_utils", "diffusers.pipelines.pipeline_utils"
    config = "diffusers.configuration_utils"
    dropped = [
        (modeling, "There are modules in UNetMotionModel that should be kept in float32: []. Casting directly ..."),
        (pipelines, "The TextToVideoSDPipeline has been deprecated and will not receive bug fixes or feature ..."),
        (pipelines, "Expected types for id2label: (dict[int, str], <class 'NoneType'>), got typing.Dict[str, str]."),
        (
            config,
            "The config attributes {'timestep_values': None} were passed to DDPMScheduler, but are not expected "
            "and will be ignored. Please verify your scheduler_config.json configuration file.",
        ),
        ("transformers.configuration_utils", "`use_return_dict` is deprecated! Use `return_dict` instead!"),
    ]
    kept = [
        (modeling, "There are modules in AutoencoderKL that should be kept in float32: ['quant_conv']. Casting ..."),
        (pipelines, "Expected types for unet: (UNet2DConditionModel,), got VQModel."),
        (
            config,
            "The config attributes {'foo': 1} were passed to UNet2DModel, but are not expected and will be ignored.",
        ),
        ("diffusers.models.autoencoders.vae", "Expected types for id2label: anything"),  # another logger
    ]
    assert [_kept(*line) for line in dropped] == [False] * len(dropped)
    assert [_kept(*line) for line in kept] == [True] * len(kept)


def test_end_process_runs_exit_handlers_flushes_and_keeps_the_code():
    code = (
        "import atexit, sys\n"
        "from genart_demo.cli import end_process\n"
        "atexit.register(lambda: print('exit handler ran', file=sys.stderr))\n"
        "print('buffered', end='')\n"
        "end_process(3)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr.strip()) == (3, "buffered", "exit handler ran")
