"""Picking each model in the Generate, Translate and Inpaint tabs: every update Gradio can apply, only the controls
the model uses shown, a one-size model's size as text, the examples and results shown whole."""

import gradio as gr
import pytest

from genart_demo.registry import GENERATE_TASKS, Registry
from genart_demo.ui.common import fixed_size_text, saved_note
from genart_demo.ui.generate import build_generate_ui
from genart_demo.ui.inpaint import build_inpaint_ui
from genart_demo.ui.translate import build_translate_ui

REGISTRY = Registry.load()
TABS = {
    "generate": (build_generate_ui, GENERATE_TASKS),
    "translate": (build_translate_ui, ("image-to-image",)),
    "inpaint": (build_inpaint_ui, ("inpaint",)),
}
CASES = [(tab, s.id) for tab, (_, tasks) in TABS.items() for s in REGISTRY.for_tasks(tasks)]


class Tab:
    """One tab built alone, with its model picker's change handler and its components by label / elem_id."""

    def __init__(self, studio, build):
        with gr.Blocks() as self.blocks:
            build(studio)
        comps = list(self.blocks.blocks.values())
        self.model = next(c for c in comps if isinstance(c, gr.Dropdown) and c.label == "Model")
        self.on_model = next(
            f.fn for f in self.blocks.fns.values() if (self.model._id, "change") in [(t[0], t[1]) for t in f.targets]
        )
        self.by_label = {getattr(c, "label", None): c for c in comps if getattr(c, "label", None)}
        self.by_id = {c.elem_id: c for c in comps if getattr(c, "elem_id", None)}
        self.size_note = next(c for c in comps if isinstance(c, gr.Markdown) and "fixed by the model" in str(c.value))

    def pick(self, model_id) -> dict:
        """{component: update dict} for picking `model_id`."""
        updates = self.on_model(model_id).items()
        return {
            c: {k: v for k, v in u.items() if k != "__type__"} if isinstance(u, dict) else {"value": u}
            for c, u in updates
        }


@pytest.fixture(scope="module")
def tabs(studio):
    return {name: Tab(studio, build) for name, (build, _) in TABS.items()}


def _visible(updates: dict, component) -> bool:
    return updates[component].get("visible", component.visible)


@pytest.mark.parametrize(("tab", "model_id"), CASES, ids=[f"{t}:{m}" for t, m in CASES])
def test_every_model_gives_updates_gradio_accepts(studio, tabs, tab, model_id):
    """A slider update whose minimum is not below its maximum breaks the whole form in the browser (every control a
    red "Error"; pix2pix-facades' 256-256 size did): no model of any tab sends one, and a model's size is a slider
    exactly when it is a choice, else the one size as text."""
    t, spec = tabs[tab], studio.spec(model_id)  # offline: the stand-in's sizes
    updates = t.pick(model_id)
    for component, update in updates.items():
        if "minimum" in update or "maximum" in update:
            low, high = update.get("minimum", component.minimum), update.get("maximum", component.maximum)
            assert low < high, (component.label, low, high)
    width = next(c for c in updates if getattr(c, "label", "") in ("Width", "Working width"))
    choosable = spec.defaults.size_min < spec.defaults.size_max and "size" in spec.controls()
    assert _visible(updates, width) == choosable
    assert _visible(updates, t.size_note) == (not choosable)
    if not choosable:
        assert updates[t.size_note]["value"] == fixed_size_text(spec)


def test_one_size_models_say_their_size(tabs):
    pix2pix = tabs["translate"].pick("pix2pix-facades")
    assert pix2pix[tabs["translate"].size_note] == {"value": "Size: 256×256 (fixed by the model)", "visible": True}
    assert "size" not in REGISTRY.get("pix2pix-facades").controls()
    dit = tabs["generate"].pick("dit-xl-256")
    assert dit[tabs["generate"].size_note]["value"].startswith("Size: ")


def test_deterministic_translators_show_no_seed_or_batch(tabs):
    t = tabs["translate"]
    seed, batch = t.by_label["Seed (-1 = random)"], t.by_label["Batch size"]
    for model_id in ("pix2pix-facades", "cyclegan-sim2real"):
        u = t.pick(model_id)
        assert not u[seed]["visible"] and u[batch] == {"value": 1, "visible": False}
    u = t.pick("sd15-img2img")
    assert u[seed]["visible"] and u[batch]["visible"]


def test_the_canny_panel_shows_only_for_controlnet_canny(tabs):
    t = tabs["translate"]
    edges, low = t.by_id["translate-control"], t.by_label["Canny low threshold"]
    assert not edges.visible  # the tab opens on a model without a control image
    for spec in REGISTRY.for_tasks(["image-to-image"]):
        u = t.pick(spec.id)
        shown = {c for c, update in u.items() if update.get("visible")}
        assert (edges in shown) == (spec.control == "canny"), spec.id
        assert (low.parent.parent in shown) == (spec.control == "canny"), spec.id  # its row (in a Form)


def test_example_prompts_show_only_for_models_with_a_prompt(tabs):
    t = tabs["generate"]
    examples = next(c for c in t.blocks.blocks.values() if isinstance(c, gr.Dataset) and c.label == "Example prompts")
    for spec in REGISTRY.for_tasks(GENERATE_TASKS):
        assert t.pick(spec.id)[examples]["visible"] == ("prompt" in spec.controls()), spec.id


def test_no_model_offers_lcm_unless_its_entry_names_it(tabs):
    """LCM samples usable images only with LCM-distilled weights: offered where an entry lists it, nowhere else."""
    for spec in REGISTRY:
        offered = "LCM" in spec.samplers()
        assert offered == ("LCM" in spec.schedulers or spec.defaults.scheduler == "LCM"), spec.id
    scheduler = tabs["generate"].by_label["Scheduler"]
    assert "LCM" not in [c[1] for c in tabs["generate"].pick("sd15")[scheduler]["choices"]]


def test_compare_shows_a_class_field_only_for_class_models(studio, tabs):
    """Compare has its own prompt, negative prompt and class fields, each shown only when a picked model takes it (it
    once sent the generate form's hidden ImageNet class to DiT without showing it)."""
    t = tabs["generate"]
    picker = t.by_label[next(label for label in t.by_label if str(label).startswith("Models (up to"))]
    handler = next(f.fn for f in t.blocks.fns.values() if (picker._id, "change") in [(x[0], x[1]) for x in f.targets])
    prompt, negative, klass = t.by_id["compare-prompt"], t.by_id["compare-negative"], t.by_id["compare-class"]
    assert prompt.visible and negative.visible and not klass.visible  # the default pair: two text models
    text_only = {c: u["visible"] for c, u in handler(["sd15", "sd-turbo"]).items()}
    assert text_only == {prompt: True, negative: True, klass: False}
    with_dit = {c: u["visible"] for c, u in handler(["sd-turbo", "dit-xl-256"]).items()}
    assert with_dit == {prompt: True, negative: False, klass: True}


@pytest.mark.parametrize("tab", list(TABS))
def test_results_are_shown_whole(tabs, tab):
    """Every output gallery letterboxes its images ("contain"; Gradio's default "cover" cut a 428×200 outpaint to its
    middle) and every output image has a height (Gradio scales it down to fit, never crops)."""
    comps = tabs[tab].blocks.blocks.values()
    galleries = [c for c in comps if isinstance(c, gr.Gallery)]
    assert galleries and all(g.object_fit == "contain" and g.height for g in galleries)
    outputs = [c for c in comps if isinstance(c, gr.Image) and not c.interactive and c.interactive is not None]
    assert all(image.height for image in outputs)


def test_the_saved_note_names_files_inside_the_output_folder(studio, tmp_path):
    inside = studio.settings.output_dir / "2026-01-01" / "0001-sd15-7.png"
    note = saved_note(studio, [inside, tmp_path / "elsewhere.png"])
    assert note.split("\n\n") == [  # a paragraph each: Markdown joins single-newline lines into one
        "💾 Saved `2026-01-01/0001-sd15-7.png` in the output folder",
        f"💾 Saved `{tmp_path / 'elsewhere.png'}`",
    ]


def test_the_truncation_slider_shows_only_for_models_that_take_it(tabs):
    """StyleGAN's truncation psi is a Generate control (the /generate API's last argument): shown, at the entry's
    default, for the models whose pipeline takes truncation_psi, hidden for every other generate model."""
    t = tabs["generate"]
    slider = t.by_id["generate-truncation"]
    assert not slider.visible  # the tab opens on a text-to-image model
    for spec in REGISTRY.for_tasks(GENERATE_TASKS):
        update = t.pick(spec.id)[slider]
        assert update["visible"] == ("truncation" in spec.controls()), spec.id
    assert t.pick("stylegan-ffhq-128")[slider] == {"value": 0.7, "visible": True}
