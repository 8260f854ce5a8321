"""The PNG info tab's handlers: dropping a file shows its settings and what is not restored; each "Send to" button
sets its target form's components to the file's values and selects the tab, and the model change it causes keeps them."""

from pathlib import Path

import gradio as gr
import pytest
from handlers import by_elem_id, handler

from genart_demo.pages import get_pages
from genart_demo.tasks.translate import TranslateRequest, translate
from genart_demo.ui.app import build_app
from genart_demo.ui.generate import build_generate_ui
from genart_demo.ui.png_info import build_png_info_ui
from genart_demo.ui.send_to import SendTargets
from genart_demo.ui.translate import build_translate_ui

A1111_PNG = Path(__file__).parents[1] / "fixtures" / "a1111.png"


@pytest.fixture(scope="module")
def app(studio):
    """Generate, Translate and PNG info tabs linked by one SendTargets, as build_app links them."""
    sends = SendTargets()
    with gr.Blocks() as blocks:
        with gr.Tabs() as tabs:
            with gr.Tab("Generate", id="generate"):
                build_generate_ui(studio, sends)
            with gr.Tab("Translate", id="translate"):
                build_translate_ui(studio, sends)
            with gr.Tab("PNG info", id="png_info"):
                build_png_info_ui(studio, sends)
        sends.wire(tabs)
    return blocks, sends, tabs


def _values(updates: dict, form: dict) -> dict:
    """{field: value} of the form components the updates set."""
    return {name: updates[box]["value"] for name, box in form.items() if "value" in updates.get(box, {})}


def test_send_to_generate_sets_every_control_the_file_has(app, studio):
    blocks, sends, tabs = app
    target = sends.forms["generate"]
    send = handler(blocks, by_elem_id(blocks, "png-info-send-generate"), "click")
    updates = send(str(A1111_PNG), "sdxl-turbo")  # the form shows another model
    assert _values(updates, target.form) == {
        "model": "sd15",
        "prompt": "a cat",
        "negative_prompt": "blurry",
        "steps": 20,
        "guidance": 7.0,
        "width": 512,
        "height": 512,
        "seed": 1234,
        "scheduler": "DPM++ 2M Karras",
    }
    assert updates[tabs]["selected"] == "generate"
    notes = updates[by_elem_id(blocks, "png-info-not-restored")]
    assert "`Clip skip`: 2" in notes and "matched by Model hash 6ce0161689" in notes
    # the new model's change event puts the file's values over the model's defaults, then forgets them
    pending = updates[target.pending]
    on_model = handler(blocks, target.form["model"], "change")
    picked = on_model("sd15", pending)
    assert (
        picked[target.form["steps"]]["value"] == 20 and picked[target.form["scheduler"]]["value"] == "DPM++ 2M Karras"
    )
    assert picked[target.pending] == {}
    assert on_model("sd15", {})[target.form["steps"]]["value"] == studio.spec("sd15").defaults.steps
    same = send(str(A1111_PNG), "sd15")  # the model already shown: no change event, nothing left pending
    assert same[target.pending] == {} and same[target.form["steps"]]["value"] == 20


def test_send_to_compare_and_translate(app, studio, tmp_path, photo):
    blocks, sends, tabs = app
    compare = handler(blocks, by_elem_id(blocks, "png-info-send-compare"), "click")(str(A1111_PNG))
    form = sends.forms["compare"].form
    assert _values(compare, form)["models"] == ["sd15"] and _values(compare, form)["own_defaults"] is False
    assert compare[tabs]["selected"] == "generate"
    made = translate(
        studio,
        TranslateRequest(model="sd15-img2img", image=photo, prompt="ink", steps=4, strength=0.5, seed=8),
        output_dir=tmp_path,
    ).paths[0]
    updates = handler(blocks, by_elem_id(blocks, "png-info-send-translate"), "click")(str(made), "pix2pix-facades")
    values = _values(updates, sends.forms["translate"].form)
    assert {k: values[k] for k in ("model", "prompt", "steps", "strength", "seed")} == {
        "model": "sd15-img2img",
        "prompt": "ink",
        "steps": 4,
        "strength": 0.5,
        "seed": 8,
    }
    assert "image" not in values and updates[tabs]["selected"] == "translate"


@pytest.fixture
def photo(tmp_path):
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), (120, 60, 30)).save(path)
    return path


def test_dropping_a_file_shows_its_settings_or_says_there_are_none(app, tmp_path):
    blocks, _, _ = app
    on_file = handler(blocks, api_name="png_info")
    summary, rows, missing, raw = on_file(str(A1111_PNG))
    assert "AUTOMATIC1111" in summary and ["steps", "20"] in rows and ["Clip skip", "2"] in rows
    assert "Send to Generate" in missing and '"seed": 1234' in raw
    from PIL import Image

    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    assert on_file(str(plain))[0].startswith("No settings found in this file")


def test_the_app_hides_buttons_whose_tab_it_does_not_have(studio):
    app = build_app(studio, get_pages(["generate", "png_info"]), {})
    shown = {k: by_elem_id(app, f"png-info-send-{k}").visible for k in ("generate", "compare", "translate", "video")}
    assert shown == {"generate": True, "compare": True, "translate": False, "video": False}
    alone = build_app(studio, get_pages(["png_info"]), {})  # a Space with the page alone: nowhere to send
    assert not by_elem_id(alone, "png-info-send-generate").visible
