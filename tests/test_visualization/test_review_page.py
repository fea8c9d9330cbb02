"""Tests of the mask thumbnails, the contact sheet and the review page.

The page is also opened in headless Chromium, from disk as a user would,
on a folder of synthetic photos (coloured discs on grey): its DOM shows
what the script built and a screenshot shows that the thumbnails load.
"""
import json
import math
import os
import os.path as osp
import shutil
import subprocess
from html.parser import HTMLParser
from typing import Dict, List
from urllib.parse import quote, unquote

import cv2
import numpy as np
import pytest

from mmseg_redo.visualization import (contact_sheet, overlay_thumbnail,
                                      write_review_page)
from mmseg_redo.visualization.mask_overlay import (BACKGROUND_GAIN,
                                                   CAPTION_HEIGHT,
                                                   CELL_PADDING, HALO_BGR,
                                                   OUTLINE_BGR, SHEET_GREY)
from mmseg_redo.visualization.review_page import DATA_FILE

FLAGS = ['empty', 'whole_image', 'touches_border', 'low_confidence']
#: Disc colours of the synthetic photos (BGR): saturated, unlike the page.
PALETTE = [(40, 40, 230), (40, 200, 40), (230, 120, 20), (20, 210, 230),
           (200, 40, 200)]
GREY = 128
#: A name that would break naive HTML or JavaScript, and URLs.
HOSTILE_NAME = 'odd/</script><b>"quote\'s" #1 50% été?.jpg'


def disc(height: int, width: int, center, radius: int, color):
    """A grey photo with a coloured disc, and the disc's mask (uint8 0/1)."""
    photo = np.full((height, width, 3), GREY, np.uint8)
    mask = np.zeros((height, width), np.uint8)
    cv2.circle(photo, center, radius, color, -1)
    cv2.circle(mask, center, radius, 1, -1)
    return photo, mask


# ---------------------------------------------------------------------------
# overlay_thumbnail
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('shape, size, expected', [
    ((200, 300), 160, (107, 160)),
    ((300, 200), 160, (160, 107)),
    ((30, 40), 160, (120, 160)),
    ((64, 64), 48, (48, 48)),
])
def test_overlay_thumbnail_size(shape, size, expected):
    photo, mask = disc(*shape, (shape[1] // 2, shape[0] // 2), 10, PALETTE[0])
    thumb = overlay_thumbnail(photo, mask, size=size)
    assert thumb.shape == expected + (3, )
    assert thumb.dtype == np.uint8


def test_overlay_thumbnail_dims_background_outlines_object():
    # Noise keeps every pixel distinct, so any tint or shift shows.
    rng = np.random.default_rng(0)
    photo = rng.integers(60, 256, (200, 200, 3), dtype=np.uint8)
    mask = np.zeros((200, 200), np.uint8)
    cv2.circle(mask, (100, 100), 60, 1, -1)
    thumb = overlay_thumbnail(photo, mask * 255, size=100).astype(int)
    plain = cv2.resize(photo, (100, 100), interpolation=cv2.INTER_AREA)
    plain = plain.astype(int)
    # The disc is now centred at (50, 50) with radius 30.
    ys, xs = np.mgrid[:100, :100]
    distance = np.hypot(xs - 49.75, ys - 49.75)

    inside = distance < 30 - 4
    assert (thumb[inside] == plain[inside]).all(), 'object was changed'
    outside = distance > 30 + 4
    assert thumb[outside].mean() < 0.5 * plain[outside].mean()
    expected = np.floor(plain[outside] * BACKGROUND_GAIN + 0.5)
    assert (thumb[outside] == expected).all(), 'background not dimmed'

    is_outline = (thumb == OUTLINE_BGR).all(axis=2)
    is_halo = (thumb == HALO_BGR).all(axis=2)
    # The outline follows the border and goes all the way round.
    assert (np.abs(distance[is_outline] - 30) < 2.5).all()
    angles = np.arctan2(ys - 49.75, xs - 49.75)[is_outline]
    assert len(np.unique(np.round(angles * 8 / np.pi))) == 17
    assert is_outline.sum() > 2 * 2 * math.pi * 30 * 0.8
    # A dark halo on both sides of it.
    assert (np.abs(distance[is_halo] - 30) < 4).all()
    assert (distance[is_halo] < 30).any() and (distance[is_halo] > 30).any()


def test_overlay_thumbnail_object_at_the_edge_has_no_outline_along_it():
    photo = np.full((80, 80, 3), 200, np.uint8)
    mask = np.zeros((80, 80), np.uint8)
    mask[:, :40] = 1
    thumb = overlay_thumbnail(photo, mask, size=80)
    is_outline = (thumb == OUTLINE_BGR).all(axis=2)
    assert set(np.nonzero(is_outline)[1]) == {39, 40}
    assert (thumb[:, :38] == 200).all()


def test_overlay_thumbnail_empty_and_whole_masks():
    photo, _ = disc(90, 120, (60, 45), 20, PALETTE[1])
    plain = cv2.resize(photo, (160, 120), interpolation=cv2.INTER_AREA)

    whole = overlay_thumbnail(photo, np.ones((90, 120), bool))
    assert (whole == plain).all()

    empty = overlay_thumbnail(photo, np.zeros((90, 120), np.uint8))
    assert (empty < 0.5 * plain).all()
    assert (empty == np.floor(plain * BACKGROUND_GAIN + 0.5)).all()


def test_overlay_thumbnail_rejects_a_mask_of_another_size():
    photo, mask = disc(90, 120, (60, 45), 20, PALETTE[1])
    with pytest.raises(ValueError, match='mask'):
        overlay_thumbnail(photo, mask[:-1])


# ---------------------------------------------------------------------------
# contact_sheet
# ---------------------------------------------------------------------------
def solid(height: int, width: int, value: int) -> np.ndarray:
    return np.full((height, width, 3), value, np.uint8)


def test_contact_sheet_grid():
    thumbs = [solid(40, 60, 100 + i) for i in range(9)] + [solid(30, 20, 250)]
    sheet = contact_sheet(thumbs, [''] * 10, columns=4)
    cell_h = 40 + CAPTION_HEIGHT + 2 * CELL_PADDING
    cell_w = 60 + 2 * CELL_PADDING
    assert sheet.shape == (3 * cell_h, 4 * cell_w, 3)
    for i in range(9):
        y = (i // 4) * cell_h + CELL_PADDING
        x = (i % 4) * cell_w + CELL_PADDING
        assert (sheet[y:y + 40, x:x + 60] == 100 + i).all()
    # The smaller thumbnail is centred at the top of its cell.
    y, x = 2 * cell_h + CELL_PADDING, cell_w + CELL_PADDING + 20
    assert (sheet[y:y + 30, x:x + 20] == 250).all()
    assert (sheet[y:y + 30, x - 1] == SHEET_GREY).all()
    # Cells after the last thumbnail stay empty.
    assert (sheet[2 * cell_h:, 2 * cell_w:] == SHEET_GREY).all()

    narrow = contact_sheet(thumbs[:3], ['a', 'b', 'c'], columns=8)
    assert narrow.shape == (cell_h, 3 * cell_w, 3)


def test_contact_sheet_captions():
    thumbs = [solid(32, 32, 0)] * 3
    long_name = 'folder/' * 5 + 'the_end.jpg'
    sheet = contact_sheet(thumbs, ['', 'short.jpg', long_name], columns=3)
    cell_w = 32 + 2 * CELL_PADDING
    strips = [
        sheet[32 + CELL_PADDING:, i * cell_w:(i + 1) * cell_w]
        for i in range(3)
    ]
    assert (strips[0] == SHEET_GREY).all()
    assert (strips[1] > 150).any()
    # A long caption is drawn as its end.
    end = contact_sheet(
        thumbs, ['', 'short.jpg', '...' + long_name[-17:]], columns=3)
    assert (sheet == end).all()
    assert not (sheet == contact_sheet(
        thumbs, ['', 'short.jpg', long_name[:20]], columns=3)).all()


def test_contact_sheet_needs_one_caption_per_thumbnail():
    with pytest.raises(ValueError, match='caption'):
        contact_sheet([solid(8, 8, 0)] * 2, ['one'])
    with pytest.raises(ValueError, match='no thumbnail'):
        contact_sheet([], [])


# ---------------------------------------------------------------------------
# write_review_page: the files
# ---------------------------------------------------------------------------
def page_row(name: str, score: float, flags=()) -> dict:
    stem = osp.splitext(name)[0]
    return dict(
        name=name,
        thumb=f'thumbs/{stem}.jpg',
        mask=f'masks/{stem}.png',
        cutout=f'cutouts/{stem}.png',
        photo=f'../photos/{name}',
        score=score,
        measures=dict(confidence=score, area=0.25),
        flags=list(flags))


def read_data(out_dir: str) -> dict:
    """The page's data, as its script reads it."""
    with open(osp.join(out_dir, DATA_FILE), encoding='utf-8') as f:
        text = f.read()
    prefix, suffix = 'window.REVIEW_DATA = ', ';\n'
    assert text.startswith(prefix) and text.endswith(suffix)
    return json.loads(text[len(prefix):-len(suffix)])


def test_write_review_page_files_sorted_worst_first(tmp_path):
    rows = [
        page_row('b.jpg', 0.9),
        page_row('a.jpg', 0.2, ['low_confidence']),
        page_row('c.jpg', float('nan'), ['empty']),
        page_row('d.jpg', 0.2),
        page_row('e.jpg', 0.5, ['touches_border', 'low_confidence'])
    ]
    index = write_review_page(str(tmp_path), rows, FLAGS, page_size=2)
    assert index == osp.join(str(tmp_path), 'index.html')
    data = read_data(str(tmp_path))
    assert data['flags'] == FLAGS
    assert data['measures'] == ['confidence', 'area']
    assert data['pageSize'] == 2
    # NaN scores first, then lowest scores; ties by name.
    names = [r[0] for r in data['rows']]
    assert names == ['c.jpg', 'a.jpg', 'd.jpg', 'e.jpg', 'b.jpg']
    c, a = data['rows'][:2]
    assert c[5] is None and c[6] == [None, 0.25] and c[7] == [0]
    assert a[1:6] == [
        'thumbs/a.jpg', 'masks/a.png', 'cutouts/a.png', '../photos/a.jpg', 0.2
    ]
    assert data['rows'][3][7] == [2, 3]

    with open(index, encoding='utf-8') as f:
        page = f.read()
    assert f'<script src="{DATA_FILE}"></script>' in page
    # Offline: nothing is fetched from the network.
    assert 'http://' not in page and 'https://' not in page
    assert 'src="//' not in page and 'href="//' not in page


def test_write_review_page_escapes_names_and_title(tmp_path):
    rows = [page_row(HOSTILE_NAME, 0.1), page_row('x\u2028y.jpg', 0.2)]
    index = write_review_page(
        str(tmp_path), rows, FLAGS, title='Masks <b>&</b> "more"')
    with open(osp.join(str(tmp_path), DATA_FILE), encoding='utf-8') as f:
        text = f.read()
    # No markup at all in the data, and names come back whole.
    assert '<' not in text and '>' not in text and '\u2028' not in text
    data = read_data(str(tmp_path))
    assert [r[0] for r in data['rows']] == [HOSTILE_NAME, 'x\u2028y.jpg']
    assert data['rows'][0][1] == f'thumbs/{HOSTILE_NAME[:-4]}.jpg'
    with open(index, encoding='utf-8') as f:
        page = f.read()
    assert '<b>&' not in page
    assert '<title>Masks &lt;b&gt;&amp;&lt;/b&gt; &quot;more&quot;</title>' \
        in page


def test_write_review_page_rejects_bad_rows(tmp_path):
    with pytest.raises(ValueError, match='blurry'):
        write_review_page(
            str(tmp_path), [page_row('a.jpg', 0.5, ['blurry'])], FLAGS)
    twice = [page_row('a.jpg', 0.5), page_row('a.jpg', 0.4)]
    with pytest.raises(ValueError, match='a.jpg'):
        write_review_page(str(tmp_path), twice, FLAGS)
    with pytest.raises(ValueError, match='page_size'):
        write_review_page(str(tmp_path), [], FLAGS, page_size=0)


# ---------------------------------------------------------------------------
# write_review_page: the page in a browser
# ---------------------------------------------------------------------------
NUM_PHOTOS = 150
PAGE_SIZE = 60


def synthetic_rows(root: str) -> List[dict]:
    """Photos, masks, cut-outs and thumbnails of discs, as a run writes.

    Photos go to ``root/photos``, everything else to ``root/out``. Photo
    ``i`` has score ``(37 * i mod 150) / 149``: photo 0 (the hostile name)
    is the worst, and the others come in a mixed order.
    """
    rows = []
    for i in range(NUM_PHOTOS):
        name = HOSTILE_NAME if i == 0 else f'set {i % 3}/photo_{i:03d}.jpg'
        flags = [flag for k, flag in enumerate(FLAGS) if i % (k + 3) == 0]
        if 'empty' in flags and 'whole_image' in flags:
            flags.remove('whole_image')
        color = PALETTE[i % len(PALETTE)]
        if 'touches_border' in flags:
            photo, mask = disc(90, 120, (15, 45), 30, color)
        else:
            photo, mask = disc(90, 120, (60, 45), 30, color)
        if 'empty' in flags:
            mask[:] = 0
        elif 'whole_image' in flags:
            mask[:] = 1
        stem = osp.splitext(name)[0]
        files = {
            f'photos/{name}': photo,
            f'out/masks/{stem}.png': mask * 255,
            f'out/cutouts/{stem}.png': np.dstack([photo, mask * 255]),
            f'out/thumbs/{stem}.jpg': overlay_thumbnail(photo, mask),
        }
        for path, image in files.items():
            os.makedirs(osp.dirname(osp.join(root, path)), exist_ok=True)
            assert cv2.imwrite(osp.join(root, path), image)
        rows.append(
            dict(
                name=name,
                thumb=f'thumbs/{stem}.jpg',
                mask=f'masks/{stem}.png',
                cutout=f'cutouts/{stem}.png',
                photo=f'../photos/{name}',
                score=(37 * i % NUM_PHOTOS) / (NUM_PHOTOS - 1),
                measures=dict(confidence=i / NUM_PHOTOS, area=mask.mean()),
                flags=flags))
    return rows


@pytest.fixture(scope='module')
def review_folder(tmp_path_factory):
    """A segmented folder with its review page: (index path, rows)."""
    chromium = (
        shutil.which('chromium') or shutil.which('chromium-browser')
        or shutil.which('google-chrome'))
    if chromium is None:
        message = ('headless Chromium not found: apt-get install chromium '
                   '(Debian) to run the review page browser test')
        # CI (.ci/run) installs it and sets this: there, a missing browser
        # is a failure, not a skip.
        if os.environ.get('MMSEG_REDO_REQUIRE_CHROMIUM'):
            pytest.fail(message)
        pytest.skip(message)
    root = str(tmp_path_factory.mktemp('review'))
    rows = synthetic_rows(root)
    index = write_review_page(
        osp.join(root, 'out'), rows, FLAGS, page_size=PAGE_SIZE)
    return dict(chromium=chromium, root=root, index=index, rows=rows)


def run_chromium(folder: dict, hash_: str, *args: str) -> str:
    """Open the page in headless Chromium; its standard output."""
    profile = osp.join(folder['root'], 'chromium-profile')
    shutil.rmtree(profile, ignore_errors=True)
    url = 'file://' + quote(osp.abspath(folder['index'])) + hash_
    command = [
        folder['chromium'], '--headless', '--no-sandbox', '--disable-gpu',
        '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--hide-scrollbars',
        f'--user-data-dir={profile}', '--virtual-time-budget=5000', *args, url
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


class PageParser(HTMLParser):
    """What a test reads from the DOM Chromium dumps.

    Attributes:
        cells (list[dict]): Attributes of each thumbnail button, in order,
            with ``src`` of its image.
        images (list[dict]): Attributes of the detail view's images.
        ids (dict[str, dict]): Attributes of each element with an id,
            with its text as ``text``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.cells: List[Dict[str, str]] = []
        self.images: List[Dict[str, str]] = []
        self.ids: Dict[str, Dict[str, str]] = {}
        self._open_ids: List[str] = []
        self._stack: List[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or '' for key, value in attrs}
        classes = attrs.get('class', '').split()
        if 'cell' in classes:
            self.cells.append(attrs)
        if 'thumb' in classes:
            self.cells[-1]['src'] = attrs['src']
        if tag == 'img' and 'detail-views' in self._stack:
            self.images.append(attrs)
        if tag not in ('img', 'input', 'meta', 'link', 'br'):
            self._stack.append(attrs.get('id', ''))
        if 'id' in attrs:
            self.ids[attrs['id']] = dict(attrs, text='')

    def handle_endtag(self, tag):
        if tag not in ('img', 'input', 'meta', 'link', 'br') and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        for element_id in self._stack:
            if element_id:
                self.ids[element_id]['text'] += data


def dump(folder: dict, hash_: str = '') -> PageParser:
    parser = PageParser()
    parser.feed(run_chromium(folder, hash_, '--dump-dom'))
    return parser


#: Clicks, keys and hash changes, run after the page's own script; the
#: state after each step (open photo or null, its position, the grid's
#: names, the hash) goes to <pre id="log"> as JSON.
INTERACTION_PROBE = r"""<pre id="log"></pre><script>
(async function () {
  var log = {};
  function $(id) { return document.getElementById(id); }
  function settle() {
    return new Promise(function (resolve) { setTimeout(resolve, 50); });
  }
  async function key(name) {
    document.dispatchEvent(new KeyboardEvent('keydown', {key: name}));
    await settle();
  }
  function note(step) {
    log[step] = {
      open: $('detail').hidden ? null : $('detail-name').textContent,
      position: $('detail-position').textContent,
      names: Array.from(document.querySelectorAll('.cell'), function (c) {
        return c.title;
      }),
      hash: decodeURIComponent(location.hash)
    };
  }
  document.querySelectorAll('.cell .name')[59].click();
  await settle(); note('click');
  await key('ArrowRight'); note('right');
  await key('ArrowLeft'); note('left');
  await key('Escape'); note('escape');
  document.querySelectorAll('#filters input')[2].click();
  await settle(); note('filter');
  $('sort').value = 'best';
  $('sort').dispatchEvent(new Event('change'));
  await settle(); note('sort');
  location.hash = 'unflagged=1&sort=best';
  await settle(); note('unflagged');
  location.hash = 'page=3';
  await settle(); note('page 3');
  $('log').textContent = JSON.stringify(log);
})();
</script>"""


def worst_first(rows: List[dict]) -> List[str]:
    return [
        r['name'] for r in sorted(rows, key=lambda r: (r['score'], r['name']))
    ]


def test_review_page_first_page(review_folder):
    page = dump(review_folder)
    names = [cell['title'] for cell in page.cells]
    assert names == worst_first(review_folder['rows'])[:PAGE_SIZE]
    assert names[0] == HOSTILE_NAME
    # Its thumbnail's URL is encoded, so it loads despite '#', '%', '?'.
    src = page.cells[0]['src']
    assert '#' not in src and '?' not in src and '"' not in src
    assert unquote(src) == f'thumbs/{HOSTILE_NAME[:-4]}.jpg'
    assert not any('missing' in cell['class'] for cell in page.cells)
    assert 'page 1 of 3' in page.ids['pager-top']['text']
    assert 'hidden' in page.ids['detail']


def test_review_page_draws_the_thumbnails(review_folder, tmp_path):
    screenshot = str(tmp_path / 'page.png')
    run_chromium(review_folder, '', f'--screenshot={screenshot}',
                 '--window-size=1400,2400')
    image = cv2.imread(screenshot)
    assert image is not None and image.shape[:2] == (2400, 1400)
    # The discs: saturated and bright, where the page has only greys.
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    vivid = ((hsv[..., 1] > 150) & (hsv[..., 2] > 100)).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(vivid)
    discs = stats[1:, cv2.CC_STAT_AREA] >= 200
    assert discs.sum() >= 25, f'{discs.sum()} thumbnails drawn'
    for color in PALETTE:
        close = np.abs(image.astype(int) - color).max(axis=2) < 30
        assert close.sum() > 2000, f'no disc of colour {color}'


def test_review_page_state_from_hash(review_folder):
    rows = review_folder['rows']
    flagged = [r['name'] for r in rows if 'low_confidence' in r['flags']]
    assert PAGE_SIZE > len(flagged) > 0 and HOSTILE_NAME in flagged

    # A reload keeps a filter and the open photo.
    page = dump(review_folder,
                '#show=low_confidence&open=' + quote(HOSTILE_NAME, safe=''))
    names = [cell['title'] for cell in page.cells]
    assert names == [n for n in worst_first(rows) if n in flagged]
    assert f'of {len(flagged)} (of {NUM_PHOTOS} in all)' in \
        page.ids['status']['text']
    assert f'low_confidence ({len(flagged)})' in page.ids['filters']['text']

    # The worst photo opened: photo, mask and cut-out side by side.
    assert 'hidden' not in page.ids['detail']
    assert page.ids['detail-name']['text'] == HOSTILE_NAME
    assert page.ids['detail-position']['text'] == f'1 of {len(flagged)}'
    stem = HOSTILE_NAME[:-4]
    root = 'file://' + osp.abspath(review_folder['root'])
    assert [unquote(img['src']) for img in page.images] == [
        f'{root}/photos/{HOSTILE_NAME}', f'{root}/out/masks/{stem}.png',
        f'{root}/out/cutouts/{stem}.png'
    ]


def test_review_page_clicks_keys_and_hash_changes(review_folder):
    with open(review_folder['index'], encoding='utf-8') as f:
        page = f.read()
    probe = osp.join(osp.dirname(review_folder['index']), 'probe.html')
    with open(probe, 'w', encoding='utf-8') as f:
        f.write(page.replace('</body>', INTERACTION_PROBE + '</body>'))
    log = json.loads(dump(dict(review_folder, index=probe)).ids['log']['text'])
    order = worst_first(review_folder['rows'])

    # A click opens the detail view; arrows step across the page boundary
    # and the grid follows; Escape closes it.
    assert log['click']['open'] == order[59]
    assert log['click']['position'] == f'60 of {NUM_PHOTOS}'
    assert log['right']['open'] == order[60]
    assert log['right']['names'] == order[PAGE_SIZE:2 * PAGE_SIZE]
    assert log['left']['open'] == order[59]
    assert log['escape']['open'] is None
    assert 'open=' not in log['escape']['hash']
    assert log['escape']['names'] == order[:PAGE_SIZE]

    border = [
        r['name'] for r in review_folder['rows']
        if 'touches_border' in r['flags']
    ]
    assert log['filter']['names'] == [n for n in order if n in border]
    assert 'show=touches_border' in log['filter']['hash']
    assert log['sort']['names'] == [n for n in order if n in border][::-1]

    unflagged = [r['name'] for r in review_folder['rows'] if not r['flags']]
    expected = [n for n in order if n in unflagged]
    assert log['unflagged']['names'] == expected[::-1]
    assert log['page 3']['names'] == order[2 * PAGE_SIZE:]
