"""Every field of every event the app serves, given each kind of malformed value, is refused with a message that
names the field; the log gets one INFO line per refusal (no ERROR, no traceback) and the server keeps serving.

The events and their fields are read from the running app's /config, so a field added later is covered without
editing this file; each event is called as the browser calls it (queue/join by fn_index), private ones included.
The other fields keep the defaults the page shows, which every field check accepts."""

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from genart_demo.markup import without_tags
from genart_demo.ui.field_guard import MAX_TEXT_CHARS, describe

pytestmark = pytest.mark.server

LIST_TYPED = {"checkboxgroup", "file", "gallery"}  # fields whose good value is a list: a malformed list differs
NUMBERS = {"number", "slider"}
FILES = {"image", "imageeditor", "file", "video", "audio", "gallery"}


def malformed(kind: str, props: dict) -> dict[str, object]:
    """The malformed values for a field of component type `kind`: wrong type, NaN, ±inf, a list, over-long text
    and text that is not encodable (a lone UTF-16 surrogate)."""
    listy = kind in LIST_TYPED or (kind == "dropdown" and props.get("multiselect"))
    if kind in NUMBERS or kind in {"checkbox", "dataset"}:
        wrong = "abc"
    elif kind in FILES:
        wrong = 12345
    else:
        wrong = {"not": "text"}
    return {
        "wrong-type": wrong,
        "nan": float("nan"),
        "inf": float("inf"),
        "-inf": float("-inf"),
        "list": [["x"], 7] if listy else ["x"],
        "over-long": "x" * (MAX_TEXT_CHARS + 1),
        "unencodable": "a\ud800b",
    }


def events(url: str) -> list[tuple[int, str, list[dict]]]:
    """(fn_index, name, input components) of every event with a Python handler; private events that take the
    same fields as one already listed are left out (the same checks would run again)."""
    config = httpx.get(f"{url}/config", timeout=30).json()
    components = {c["id"]: c for c in config["components"]}
    found, seen = [], set()
    for i, dep in enumerate(config["dependencies"]):
        if not dep.get("backend_fn") or not dep["inputs"]:
            continue
        inputs = [components[c] for c in dep["inputs"]]
        key = tuple((c["type"], c["props"].get("label")) for c in inputs)
        if dep.get("api_visibility") != "public" and key in seen:
            continue
        seen.add(key)
        found.append((i, dep.get("api_name") or f"fn {i}", inputs))
    return found


def call(client: httpx.Client, url: str, fn_index: int, data: list) -> dict:
    """The completed message of one event, called as the browser calls it."""
    session = uuid.uuid4().hex
    body = json.dumps({"data": data, "fn_index": fn_index, "session_hash": session, "trigger_id": None})
    joined = client.post(f"{url}/gradio_api/queue/join", content=body, headers={"content-type": "application/json"})
    assert joined.status_code == 200, joined.text
    with client.stream("GET", f"{url}/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError(f"event {fn_index} never completed")


def cases(url: str) -> list[tuple[str, int, list, str | None]]:
    """(case id, fn_index, arguments, the field's label) for one malformed value of one field at a time."""
    found = []
    for fn_index, name, inputs in events(url):
        defaults = [c["props"].get("value") for c in inputs]
        for j, component in enumerate(inputs):
            if component["type"] == "state":
                continue
            for kind, value in malformed(component["type"], component["props"]).items():
                data = list(defaults)
                data[j] = value
                found.append((f"{name}[{j}]:{kind}", fn_index, data, component["props"].get("label")))
    return found


def test_every_field_of_every_event_refuses_malformed_values_by_name(app_server):
    url, _, log_path = app_server
    url = url.rstrip("/")
    log_start = log_path.stat().st_size
    todo = cases(url)
    assert len(todo) > 7 * 100  # the app's ~25 endpoints have well over 100 fields between them

    def run(case):
        case_id, fn_index, data, label = case
        with httpx.Client(timeout=120) as client:
            return case, call(client, url, fn_index, data)

    rank: dict[int, int] = {}
    order = [rank.__setitem__(c[1], rank.get(c[1], -1) + 1) or rank[c[1]] for c in todo]
    todo = [c for _, c in sorted(zip(order, todo), key=lambda pair: pair[0])]
    with ThreadPoolExecutor(8) as pool:  # interleaved, so the 8 run different events (each runs one at a time)
        results = list(pool.map(run, todo))
    problems = []
    for (case_id, _, _, label), message in results:
        error = (message.get("output") or {}).get("error")
        named = f"“{label}”" in (error or "") if label else bool(re.match(r"“[^”]+” ", error or ""))
        if message.get("success") or not error or not named:
            problems.append(f"{case_id}: success={message.get('success')} error={error!r}")
    assert not problems, f"{len(problems)} of {len(results)} cases:\n" + "\n".join(problems[:40])

    log = log_path.read_bytes()[log_start:].decode("utf-8", errors="replace")
    assert "Traceback" not in log, log[log.index("Traceback") - 200 :][:3000]
    assert not re.search(r"\s(ERROR|CRITICAL)\s", log), [ln for ln in log.splitlines() if " ERROR " in ln][:5]
    refusals = [ln for ln in log.splitlines() if " INFO refused " in ln]
    assert len(refusals) == len(results)  # one INFO line per refused value, no more

    with httpx.Client(timeout=120) as client:  # still serving: a good request after all that
        i = next(i for i, name, _ in events(url) if name == "arena_session_status")
        done = call(client, url, i, ["K7Q2MX4P"])
    assert "There is no rating session with code K7Q2MX4P" in done["output"]["error"]


def test_guard_messages_describe_values_safely():
    assert describe(10**5000) == "a 5,001-digit number"
    assert describe(float("nan")) == "NaN" and describe(float("-inf")) == "-infinity"
    assert describe("x" * 300).endswith("(300 characters)") and len(describe("x" * 300)) < 80
    assert without_tags("'<img src=http://x/a.png>' is not a run") == "'&lt;img src=http://x/a.png>' is not a run"
    assert without_tags("must satisfy 0 <= low < high <= 255") == "must satisfy 0 <= low < high <= 255"
