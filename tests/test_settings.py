"""Settings: every environment variable read once, in one place, and a value genart cannot use refused at start."""

import math
import subprocess
import sys
from pathlib import Path

import pytest

from genart_demo.settings import DEFAULT_MAX_PIXELS, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_from_an_empty_environment():
    s = Settings.from_env({})
    assert (s.offline, s.max_batch, s.queue_size, s.max_upload_mb, s.max_pixels) == (
        False,
        4,
        64,
        1024,
        DEFAULT_MAX_PIXELS,
    )
    assert (s.host, s.port, s.share, s.zerogpu, s.world_size, s.allow_pickle) == (
        "127.0.0.1",
        7860,
        False,
        False,
        1,
        False,
    )
    assert s.arena_token_ttl_s == 1800.0 and s.hub_endpoint == "https://huggingface.co" and s.hf_token == ""
    assert s.workspace.outputs == Path("outputs")


def test_values_are_read_and_typed():
    env = {
        "GENART_OFFLINE": "1",
        "GENART_MAX_PIXELS": "1_000",
        "GENART_ARENA_TOKEN_TTL": "60",
        "GRADIO_SERVER_NAME": "0.0.0.0",
        "GRADIO_SERVER_PORT": "7861",
        "SPACES_ZERO_GPU": "true",
        "GENART_ALLOW_PICKLE": "1",
        "HF_TOKEN": "hf_secret",
        "WORLD_SIZE": "2",
        "GENART_DEVICE": "CPU",
        "GENART_ARENA_MODELS": "sd15, sd-turbo,",
        "GENART_EVAL_ROOTS": "/a:/b",
    }
    s = Settings.from_env(env)
    assert (s.offline, s.max_pixels, s.arena_token_ttl_s, s.host, s.port) == (True, 1000, 60.0, "0.0.0.0", 7861)
    assert (s.zerogpu, s.allow_pickle, s.hf_token, s.world_size, s.device) == (True, True, "hf_secret", 2, "cpu")
    assert s.arena_models == ("sd15", "sd-turbo") and s.eval_roots == (Path("/a"), Path("/b"))
    assert "hf_secret" not in repr(s)  # the token is never shown
    assert Settings.from_env({**env, "GENART_PORT": "9000", "GENART_HOST": "127.0.0.2"}).port == 9000


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("GENART_ARENA_TOKEN_TTL", "nan", "out of range"),
        ("GENART_ARENA_TOKEN_TTL", "inf", "out of range"),
        ("GENART_ARENA_TOKEN_TTL", "0", "out of range"),
        ("GENART_ARENA_TOKEN_TTL", "soon", "is not a number"),
        ("GENART_MEMORY_BUDGET_GB", "-1", "out of range"),
        ("GENART_MAX_BATCH", "0", "out of range"),
        ("GENART_MAX_BATCH", "2.5", "is not a whole number"),
        ("GENART_MAX_PIXELS", "lots", "is not a whole number"),
        ("GENART_QUEUE_SIZE", "-3", "out of range"),
        ("GENART_PORT", "70000", "out of range"),
        ("GENART_HUB_TIMEOUT", "nan", "out of range"),
        ("GENART_DEVICE", "tpu", "Allowed: cuda, mps, cpu"),
    ],
)
def test_unusable_values_are_refused_naming_the_variable(name, value, says):
    with pytest.raises(SettingsError) as info:
        Settings.from_env({name: value})
    assert str(info.value).startswith(f"{name}={value!r}") and says in str(info.value)
    assert "Allowed" in str(info.value)


def test_the_app_refuses_a_bad_setting_at_start():
    env = {"PATH": "/usr/bin:/bin", "GENART_OFFLINE": "1", "GENART_ARENA_TOKEN_TTL": "nan"}
    done = subprocess.run(
        [sys.executable, "app.py", "--port", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "error: GENART_ARENA_TOKEN_TTL='nan' is out of range" in done.stderr
    assert "Traceback" not in done.stderr


def test_file_routes_block_the_private_folders(tmp_path):
    s = Settings(output_dir=tmp_path)
    routes = s.launch_options()
    assert routes["allowed_paths"] == [str(tmp_path.resolve())]
    assert routes["blocked_paths"] == [str((tmp_path / "arena").resolve())]
    assert routes["max_file_size"] == "1024mb" and routes["server_port"] == 7860
    assert not math.isnan(s.arena_token_ttl_s)
