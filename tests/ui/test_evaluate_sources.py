"""Evaluate's set sources on the launched app: an uploaded zip is read wherever Gradio put it, a typed .zip path only
under the allowed roots (it was read from anywhere on disk), and one request's sets share one byte budget."""

import shutil

import pytest
from gradio_client import Client, handle_file

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(app_server):
    return Client(app_server[0], verbose=False)


def evaluate(client, a_files=(), a_path="", b_files=(), b_path=""):
    """/evaluate with set A and set B each given as uploads or a typed path; returns the table's rows by metric."""
    table, *_ = client.predict(
        [handle_file(str(f)) for f in a_files],
        a_path,
        None,
        [handle_file(str(f)) for f in b_files],
        b_path,
        None,
        ["fid"],
        "fid-inception",
        1000,
        api_name="/evaluate",
    )
    return {row[0]: row for row in table["data"]}


def test_uploaded_zips_are_read_and_typed_zips_only_under_the_roots(client, app_server, image_zips):
    _, out, _ = app_server
    rows = evaluate(client, a_files=[image_zips[0]], b_files=[image_zips[1]])  # uploads: in Gradio's cache
    assert rows["FID"][3] == "B (7) vs A (8)"
    with pytest.raises(Exception, match=r"real.zip is outside the folders genart may read. Allowed roots: "):
        evaluate(client, a_path=str(image_zips[0]), b_files=[image_zips[1]])  # the same zip, typed: outside
    inside = out / "typed-sources"
    inside.mkdir(exist_ok=True)
    shutil.copy(image_zips[0], inside / "real.zip")
    rows = evaluate(client, a_path=str(inside / "real.zip"), b_files=[image_zips[1]])  # typed, under the root
    assert rows["FID"][3] == "B (7) vs A (8)"
