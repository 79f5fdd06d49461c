"""Soup pictures (spec §8): the reference's layouts and palettes, on closed forms."""

import numpy as np
import pytest

from complife import languages
from complife.draw import rows_layout, soup_rows, soup_tiles


def test_rows_layout_of_the_papers_soup():
    # 2**17 programs: 131072 // 68 = 1927, ceil(sqrt(1927)) = 44 columns wanted,
    # 131072 / 44 = 2978.9 -> 2978 programs per column, so 45 columns.
    assert rows_layout(1 << 17) == (2978, 45)


def test_rows_picture_places_each_program_in_its_row():
    palette = languages.get("bff_noheads").palette
    programs = np.zeros((200, 64), dtype=np.uint8)
    programs[3, 5] = ord("[")
    per_column, columns = rows_layout(200)
    image = soup_rows(programs, palette)
    assert image.shape == (per_column, columns * 68 - 4, 3)
    assert tuple(image[3, 5]) == (0, 192, 0)
    assert tuple(image[3, 6]) == (255, 0, 0)  # byte 0
    assert tuple(image[0, 64]) == (0, 0, 0)  # the gap between columns
    second = soup_rows(programs, palette, columns=4)
    assert second.shape == (50, 4 * 68 - 4, 3)


def test_tiles_darken_the_first_row_and_column():
    palette = languages.get("bff_noheads").palette
    programs = np.full((6, 64), ord("+"), dtype=np.uint8)
    image = soup_tiles(programs, palette, 3)
    assert image.shape == (16, 24, 3)
    magenta = np.array([200, 0, 200])
    darker = np.array([168, 0, 168])
    assert (image[1, 1] == magenta).all()
    assert (image[0, 5] == darker).all() and (image[5, 0] == darker).all()
    assert (image[8, 8] == darker).all() and (image[9, 9] == magenta).all()


@pytest.mark.parametrize("name", languages.names())
def test_every_language_has_a_full_palette(name):
    palette = languages.get(name).palette
    assert palette.shape == (256, 3) and palette.dtype == np.uint8


def test_tiles_refuse_a_width_that_does_not_divide():
    with pytest.raises(ValueError, match="does not divide"):
        soup_tiles(np.zeros((6, 64), np.uint8), np.zeros((256, 3), np.uint8), 4)
