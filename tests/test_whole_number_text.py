"""Whole numbers typed as text: only ASCII digits count (str.isdigit() also takes '²', which int() refuses)."""

from types import SimpleNamespace

import pytest

from genart_demo.errors import InputError
from genart_demo.fields import whole_number_text
from genart_demo.tasks.evaluate import class_labels
from genart_demo.tasks.generate import _class_id


@pytest.mark.parametrize(
    "text, number",
    [("207", 207), (" 7 ", 7), ("²", None), ("٣", None), ("9" * 19, None), ("9" * 5000, None), ("-3", None), (3, None)],
)
def test_whole_number_text(text, number):
    assert whole_number_text(text) == number


PIPE = SimpleNamespace(labels={"tench": 0, "goldfish": 1, "golden retriever": 207})


@pytest.mark.parametrize("label", ["²", "9" * 5000])
def test_a_dit_class_in_unicode_digits_is_refused_by_name_not_by_int(label):
    with pytest.raises(InputError) as refused:  # the old code raised ValueError from int('²')
        _class_id(PIPE, label)
    assert "Unknown ImageNet class" in str(refused.value) and len(str(refused.value)) < 200


def test_a_class_folder_named_in_unicode_digits_has_no_class():
    images = SimpleNamespace(names=["²/a.png", "207/b.png"], blobs=[b"", b""])
    assert class_labels(images) == [None, 207]  # the old code raised ValueError on '²'
