"""Bad input on every tab through gradio_client: each case gets a message saying what was wrong, nothing crashes."""

import json
import re

import numpy as np
import pytest
from bad_inputs import CASES, generate, session  # the corpus (tests/ui/bad_inputs.py)
from gradio_client import Client, handle_file
from PIL import Image

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server[0], verbose=False)


@pytest.fixture(scope="module")
def log_start(app_server):
    """Where the server log stood before the first case."""
    return app_server[2].stat().st_size


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad-inputs")
    y, x = np.mgrid[0:64, 0:64]
    Image.fromarray(np.stack([x * 4, y * 4, (x + y) * 2], -1).astype(np.uint8)).save(d / "good.png")
    Image.fromarray(np.stack([y * 4, x * 4, (x * y) % 255], -1).astype(np.uint8)).save(d / "good2.png")
    (d / "text.png").write_text("this is a note, not a picture")
    (d / "zero.png").write_bytes(b"")
    (d / "notazip.zip").write_text("not a zip archive")
    (d / "notes.txt").write_text("hello")
    Image.new("RGB", (4100, 4100), (9, 9, 9)).save(d / "huge.png")  # 16.81 MP, over the default 4096×4096
    Image.new("L", (32, 48), 255).save(d / "mask_tall.png")
    Image.new("L", (64, 64), 0).save(d / "mask_empty.png")
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    mask.save(d / "mask.png")
    return d


@pytest.fixture(scope="module")
def session_code(client):
    created, code = client.predict(*session(name="corpus session"), api_name="/arena_session_create")
    assert code in created
    return code


def _resolve(value, inputs, code):
    """The table's arguments with "@file" turned into uploads and "{code}" into the live session code."""
    if isinstance(value, str) and value.startswith("@"):
        return handle_file(str(inputs / value[1:]))
    if value == "{code}":
        return code
    if isinstance(value, list):
        return [_resolve(v, inputs, code) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, inputs, code) for k, v in value.items()}
    return value


@pytest.mark.parametrize("endpoint, args, expected", [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_bad_input_gets_a_clear_message(client, inputs, session_code, log_start, endpoint, args, expected):
    with pytest.raises(Exception) as refused:
        client.predict(*_resolve(args, inputs, session_code), api_name=endpoint)
    message = str(refused.value)
    assert expected in message, message
    assert "has not enabled verbose error reporting" not in message


def test_the_server_still_serves_after_the_corpus(client, app_server):
    before = set(app_server[1].glob("*/*-sd15-*.png"))
    gallery, params, _ = client.predict(*generate(prompt="a corgi after all that"), api_name="/generate")
    assert len(gallery) == 1 and json.loads(params)["prompt"] == "a corgi after all that"
    with Image.open(gallery[0]["image"]) as img:
        assert img.size == (64, 64)
    assert len(set(app_server[1].glob("*/*-sd15-*.png")) - before) == 1  # written to the output dir


def crashes(log: str) -> tuple[list[str], int]:
    """(crash lines, count of gr.Error tracebacks) in a server log. A traceback whose last exception is a
    gradio.exceptions.Error is a message shown to the user (Gradio logs those); any other last exception, an
    ERROR log line (a handler's unexpected failure) or an ASGI exception is a crash."""
    lines, found, errors = log.splitlines(), [], 0
    for i, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            end = i + 1
            while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
                end += 1
            last = lines[end] if end < len(lines) else "(log ends inside a traceback)"
            following = next((ln for ln in lines[end + 1 :] if ln.strip()), "")
            if following.startswith(("The above exception was the direct cause", "During handling of the above")):
                continue  # a cause: the chain's last traceback decides
            if last.startswith("gradio.exceptions.Error: "):
                errors += 1
            else:
                found.append(last)
        elif re.search(r"\sERROR\s|Exception in ASGI application", line):
            found.append(line)
    return found, errors


def test_the_crash_check_tells_messages_from_crashes():
    message = (
        'Traceback (most recent call last):\n  File "t.py", line 1\ngenart_demo.errors.InputError: empty\n\n'
        "The above exception was the direct cause of the following exception:\n\n"
        "Traceback (most recent call last):\n  File \"c.py\", line 9\ngradio.exceptions.Error: 'empty'\n"
    )
    crash = 'Traceback (most recent call last):\n  File "x.py", line 1\n    boom()\nUnidentifiedImageError: cannot\n'
    assert crashes(message) == ([], 1)
    assert crashes(message + crash) == (["UnidentifiedImageError: cannot"], 1)
    assert crashes("2026-01-01 10:00:01 genart.ui ERROR task generate failed\n") == (
        ["2026-01-01 10:00:01 genart.ui ERROR task generate failed"],
        0,
    )


def test_the_server_log_shows_messages_not_crashes(app_server, log_start):
    log = app_server[2].read_bytes()[log_start:].decode("utf-8", errors="replace")
    found, errors = crashes(log)
    assert not found, found
    assert errors == 0  # a refusal logs no traceback at all ...
    refusals = [line for line in log.splitlines() if " INFO refused " in line]
    assert len(refusals) >= len(CASES)  # ... but one INFO line each
