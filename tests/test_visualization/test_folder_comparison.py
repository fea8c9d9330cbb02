"""Tests of the sheet that compares folders of masks of the same photos."""
import csv
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from conftest import run_tool

from mmseg_redo.visualization.folder_comparison import (compare_folders_sheet,
                                                        spread_photos)
from mmseg_redo.visualization.mask_overlay import CAPTION_HEIGHT, CELL_PADDING

THUMB = (24, 32)


def fake_output(folder: str, photos, value_of) -> str:
    """An output folder of segment_folder: scores.csv and one solid
    thumbnail per photo, of the grey level ``value_of(photo)``."""
    os.makedirs(folder)
    with open(osp.join(folder, 'scores.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, ['photo', 'score', 'mask'])
        writer.writeheader()
        for photo in photos:
            mask = osp.join('masks', osp.splitext(photo)[0] + '.png')
            writer.writerow(dict(photo=photo, score='0.5', mask=mask))
            thumb = osp.join(folder, 'thumbs',
                             osp.splitext(photo)[0] + '.jpg')
            os.makedirs(osp.dirname(thumb), exist_ok=True)
            cv2.imwrite(thumb, np.full((*THUMB, 3), value_of(photo),
                                       np.uint8))
        # A photo that failed has no mask and is left out.
        writer.writerow(dict(photo='broken.jpg', score='', mask=''))
    return folder


def test_spread_photos_takes_shared_photos_evenly_by_path(tmp_path):
    photos = [f'p{i:02d}.jpg' for i in range(10)]
    a = fake_output(str(tmp_path / 'a'), photos, lambda p: 0)
    b = fake_output(str(tmp_path / 'b'), photos[1:] + ['sub/x.jpg'],
                    lambda p: 0)
    # p00 is only in a and sub/x.jpg only in b: 9 shared, p01..p09.
    assert spread_photos([a, b], 3) == ['p01.jpg', 'p05.jpg', 'p09.jpg']
    assert spread_photos([a, b], 50) == photos[1:]


def test_compare_folders_sheet_one_row_per_folder(tmp_path):
    photos = ['a.jpg', 'dir/b.png', 'c.jpg']
    first = fake_output(str(tmp_path / 'first'), photos,
                        lambda p: 40 + 10 * photos.index(p))
    second = fake_output(str(tmp_path / 'second'), photos,
                         lambda p: 200 + 10 * photos.index(p))
    sheet, shown = compare_folders_sheet([('one', first), ('two', second)],
                                         num=8)
    assert shown == sorted(photos)
    cell_h = THUMB[0] + CAPTION_HEIGHT + 2 * CELL_PADDING
    cell_w = THUMB[1] + 2 * CELL_PADDING
    assert sheet.shape == (2 * cell_h, 3 * cell_w, 3)
    for row, base in enumerate((40, 200)):
        for column, photo in enumerate(shown):
            y, x = row * cell_h + CELL_PADDING, column * cell_w + CELL_PADDING
            cell = sheet[y:y + THUMB[0], x:x + THUMB[1]].astype(int)
            # JPEG keeps a solid thumbnail within a grey level or two.
            expected = base + 10 * photos.index(photo)
            assert np.abs(cell - expected).max() <= 2, (row, photo)


def test_compare_folders_sheet_names_a_folder_that_is_not_an_output(
        tmp_path):
    with pytest.raises(FileNotFoundError, match='scores.csv'):
        compare_folders_sheet([('x', str(tmp_path))])


def test_compare_mask_folders_tool(tmp_path):
    photos = ['a.jpg', 'b.jpg']
    first = fake_output(str(tmp_path / 'first'), photos, lambda p: 60)
    out = str(tmp_path / 'sheet.png')
    done = run_tool('tools/analysis_tools/compare_mask_folders.py', out,
                    f'GrabCut={first}', f'ReDO={first}', '--num', 2)
    assert done.returncode == 0, done.stderr
    assert 'a.jpg, b.jpg' in done.stdout
    assert cv2.imread(out).shape[0] == 2 * (THUMB[0] + CAPTION_HEIGHT +
                                            2 * CELL_PADDING)
    bad = run_tool('tools/analysis_tools/compare_mask_folders.py', out, first)
    assert bad.returncode == 2 and 'LABEL=FOLDER' in bad.stderr
