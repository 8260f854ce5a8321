"""The Grid tab through gradio_client on the launched app: a 3x3 steps x guidance grid, its cells with captions and
settings, and a bad axis refused with its message while the server keeps serving."""

import re

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image

from genart_demo.media import read_png_settings
from genart_demo.tasks.grid_image import read_grid_metadata

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server[0], verbose=False)


def _args(**kw):
    values = dict(
        model="sd15",
        prompt="a lighthouse at dawn",
        negative_prompt="",
        steps=2,
        guidance=7.5,
        width=64,
        height=64,
        seed=3,
        scheduler="Euler a",
        loras="",
        x_kind="steps",
        x_values="1-3",
        y_kind="guidance",
        y_values="3, 5, 7",
        z_kind="",
        z_values="",
    )
    values.update(kw)
    return list(values.values())


def test_a_3x3_grid_from_the_ui_api(client, app_server):
    grid, cells, notes = client.predict(*_args(), api_name="/grid")
    assert len(cells) == 9
    assert [c["caption"] for c in cells[:2]] == ["Steps: 1 · CFG: 3.0 · seed 3", "Steps: 2 · CFG: 3.0 · seed 3"]
    for i, item in enumerate(cells):
        settings = read_png_settings(item["image"])
        assert (settings.steps, settings.guidance, settings.seed) == (i % 3 + 1, [3.0, 5.0, 7.0][i // 3], 3)
        assert settings.scheduler == "Euler a" and Image.open(item["image"]).size == (64, 64)
    picture = Image.open(grid)
    assert 3 * 64 < picture.width < 3 * 64 + 200 and 3 * 64 < picture.height < 3 * 64 + 100
    last = np.asarray(Image.open(cells[-1]["image"]).convert("RGB"))
    assert np.array_equal(np.asarray(picture.convert("RGB"))[-64:, -64:], last)
    assert "9 cells in" in notes and "text encodings: 1 computed, 8 shared between cells" in notes
    saved = re.findall(r"💾 Saved `([^`]+)` in the output folder", notes)
    assert len(saved) == 1 and saved[0].startswith("grids/")
    assert len(read_grid_metadata(app_server[1] / saved[0])["cells"]) == 9


def test_a_bad_axis_is_refused_and_the_server_keeps_serving(client):
    with pytest.raises(Exception, match="“Y axis” is text 'colour', which is not in the list of choices: \\['model'"):
        client.predict(*_args(y_kind="colour"), api_name="/grid")
    with pytest.raises(Exception, match="Guidance value 'x' is not a number"):
        client.predict(*_args(y_values="3, x"), api_name="/grid")
    with pytest.raises(Exception, match="Each grid axis must be of a different kind; steps is given twice"):
        client.predict(*_args(y_kind="steps"), api_name="/grid")
    with pytest.raises(Exception, match="A LoRA weight axis sets the weight of the request's LoRAs"):
        client.predict(*_args(y_kind="lora_weight", y_values="0, 1"), api_name="/grid")
    _, cells, _ = client.predict(*_args(x_values="1", y_values="3, 5"), api_name="/grid")
    assert len(cells) == 2
