"""The difference map and its numbers, on images whose differences are known in closed form."""

import numpy as np
import pytest
from PIL import Image

from genart_demo.imagediff import DIFF_GAIN, colour_map, diff_legend, image_difference, pixel_difference

BLACK, PURPLE, YELLOW = (0, 0, 0), (90, 20, 130), (255, 240, 90)


def _solid(size, rgb, mode="RGB"):
    return Image.new(mode, size, rgb)


def test_identical_images_differ_nowhere_and_map_black():
    a = _solid((5, 3), (12, 200, 7))
    diff = image_difference(a, a.copy())
    assert (diff.mean, diff.max, diff.share_above, diff.resized_from) == (0.0, 0.0, 0.0, None)
    assert diff.image.size == (5, 3) and set(diff.image.getdata()) == {BLACK}


def test_one_red_pixel_on_black_is_a_third_of_255_there():
    a = _solid((4, 4), (0, 0, 0))
    b = a.copy()
    b.putpixel((1, 2), (255, 0, 0))
    diff = image_difference(a, b)
    assert diff.max == 85.0  # (255 + 0 + 0) / 3
    assert diff.mean == pytest.approx(85 / 16)
    assert diff.share_above == 1 / 16
    assert diff.image.getpixel((1, 2)) == YELLOW  # 85 × DIFF_GAIN is past the top of the scale
    assert diff.image.getpixel((0, 0)) == BLACK


def test_the_difference_is_the_mean_over_channels():
    d = pixel_difference(_solid((2, 2), (0, 0, 0)), _solid((2, 2), (30, 60, 90)))
    assert d.shape == (2, 2) and np.all(d == 60.0)
    d = pixel_difference(_solid((2, 2), (200, 10, 50)), _solid((2, 2), (100, 40, 50)))
    assert np.all(d == (100 + 30 + 0) / 3)
    assert np.all(pixel_difference(_solid((2, 2), 50, "L"), _solid((2, 2), (50, 50, 50))) == 0)  # grey reads as RGB


def test_threshold_counts_only_pixels_above_it():
    a, b = _solid((3, 3), (10, 10, 10)), _solid((3, 3), (13, 13, 13))
    assert image_difference(a, b).share_above == 0.0  # 3 levels is not above the default 8
    assert image_difference(a, b, threshold=2).share_above == 1.0
    assert image_difference(a, b, threshold=3).share_above == 0.0  # "more than", not "at least"


def test_colour_scale_is_linear_between_stops_and_saturates():
    levels = np.array([[0.0, 255 / (3 * DIFF_GAIN), 3.0, 255 / DIFF_GAIN, 255.0]])
    colours = list(colour_map(levels).getdata())
    t = 3.0 * DIFF_GAIN / 255 * 3  # 3 levels, a fraction of the way from black to purple
    assert colours[0] == BLACK and colours[1] == PURPLE and colours[3] == YELLOW and colours[4] == YELLOW
    assert colours[2] == tuple(int(round(c * t)) for c in PURPLE)


def test_another_size_is_resized_to_a_and_said():
    a, b = _solid((8, 6), (100, 100, 100)), _solid((16, 12), (100, 100, 100))
    diff = image_difference(a, b)
    assert diff.resized_from == (16, 12) and diff.image.size == (8, 6) and diff.max == 0.0
    text = diff_legend(diff, "sd15", "sdxl", a.size)
    assert "sdxl (16×12) was resized to sd15's 8×6 to compare." in text


def test_legend_gives_mean_max_and_share():
    a = _solid((4, 4), (0, 0, 0))
    b = a.copy()
    b.putpixel((0, 0), (255, 0, 0))
    text = diff_legend(image_difference(a, b), "A", "B", a.size)
    assert "mean 5.31, max 85.00 of 255" in text and "6.2% of pixels differ by more than 8." in text
    assert "resized" not in text


def test_unequal_sizes_are_refused_by_the_raw_difference():
    with pytest.raises(ValueError, match=r"equal sizes; got \(2, 2\) and \(3, 3\)"):
        pixel_difference(_solid((2, 2), 0, "L"), _solid((3, 3), 0, "L"))
