"""Load: 16 concurrent gradio_client users on the studio for three minutes; nothing fails, memory stays bounded."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parents[2]
USERS, SECONDS = 16, 180


def test_sixteen_users_for_three_minutes(tmp_path, cache_dir):
    out = tmp_path / "load.json"
    env = {"GENART_CACHE_DIR": str(cache_dir)}  # the session's stand-ins, already built
    done = subprocess.run(
        [sys.executable, "benchmarks/load.py", "--users", str(USERS), "--seconds", str(SECONDS), "--json", str(out)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=SECONDS + 900,
    )
    assert out.is_file(), done.stdout + done.stderr
    result = json.loads(out.read_text())
    print(done.stdout)
    assert result["server_alive"], done.stdout
    assert result["failed"] == 0, result["errors"]  # every request completed or was refused as queue-full
    assert result["completed"] >= USERS * 2, result  # each user got real work done, not only refusals
    assert set(result["by_kind"]) == {"generate", "compare", "evaluate_pair", "arena"}
    assert all(count > 0 for count in result["by_kind"].values()), result["by_kind"]
    assert result["peak_over_warm"] < 1.5, result  # bounded: no growth after every model is loaded
    assert done.returncode == 0


def test_a_full_queue_answers_clearly_and_recovers(launch_app, tmp_path):
    """With room for one waiting request, a burst of eight gets some "queue is full" answers, the rest complete,
    and the next request after the burst is served."""
    import threading

    from gradio_client import Client

    _, url = launch_app(tmp_path / "out", tmp_path / "app.log", GENART_QUEUE_SIZE="1")
    outcomes: list[str] = []

    # The clients connect first, one by one (each reads the app's config, with gradio_client's 20 s timeout, while
    # the new server may still be importing torch and diffusers): the burst is of requests, not of connections.
    clients = [Client(url, verbose=False) for _ in range(8)]

    def one(client, seed: int):
        try:
            client.predict("sd15", "a red fox", "", "", 12, 5.0, 64, 64, seed, 1, "Euler", False, api_name="/generate")
            outcomes.append("done")
        except Exception as exc:  # noqa: BLE001  (any failure of a call is an outcome to count)
            outcomes.append(str(exc))

    threads = [threading.Thread(target=one, args=(client, seed)) for seed, client in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    full = [o for o in outcomes if "queue is full" in o.lower()]
    assert len(outcomes) == 8 and full and outcomes.count("done") >= 1, outcomes
    assert set(outcomes) <= {"done", *full}, outcomes  # nothing else went wrong
    gallery, _, _ = Client(url, verbose=False).predict(
        "sd15", "a red fox", "", "", 2, 5.0, 64, 64, 1, 1, "Euler", False, api_name="/generate"
    )
    assert len(gallery) == 1
