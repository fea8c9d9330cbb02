"""A static HTML page for reviewing masks, worst-scored first.

``write_review_page`` writes ``index.html`` and its data,
``review_data.js``, into an output folder. The page needs no server and no
network: opened from disk (``file://``) it shows the thumbnails in pages,
filters them by flag and opens a detail view with the photo, its mask and
its cut-out. The data is a script rather than JSON because browsers refuse
``fetch()`` of local files but run a local ``<script src>``.

Everything a photo's name reaches is escaped: the data is written as JSON
with ``<``, ``>`` and ``&`` as ``\\u`` escapes, and the page's script puts
names into the document as text and paths into URLs percent-encoded, never
as markup.

The page itself, plain HTML, CSS and JavaScript with no dependency (so it
works offline from the output folder in any current browser), is the
template ``templates/review_page.html`` packaged beside this module; only
its title and the name of its data file are filled in here. Its state
(sort, filters, page, page size, open photo) lives in the URL's hash, so a
reload or a shared link keeps it and Back undoes a step.
"""
import html
import json
import math
import os
import os.path as osp
from collections import Counter
from importlib.resources import files
from typing import Dict, List, Optional, Sequence

from ..utils.file_io import write_bytes_whole

#: File names of the page and of its data, inside the output folder.
INDEX_FILE = 'index.html'
DATA_FILE = 'review_data.js'
#: The page's template, inside this package.
TEMPLATE = 'templates/review_page.html'
#: Significant digits kept of scores and measures: the page shows three,
#: and 50,000 rows of full floats would make the data several times larger.
_DIGITS = 6
#: Characters written as ``\\u`` escapes in the data (see _script_literal).
_SCRIPT_ESCAPES = {
    ord('<'): '\\u003c',
    ord('>'): '\\u003e',
    ord('&'): '\\u0026'
}


def _page_template() -> str:
    """The page's HTML, with ``{{title}}`` and ``{{data_file}}`` to fill."""
    return files(__package__).joinpath(TEMPLATE).read_text(encoding='utf-8')


def _number(value: float) -> Optional[float]:
    """A finite float, rounded; ``None`` (JSON null) for NaN and infinity."""
    value = float(value)
    return float(f'{value:.{_DIGITS}g}') if math.isfinite(value) else None


def _url_path(path: str) -> str:
    """A relative path with ``/`` separators, as URLs need."""
    return path.replace(os.sep, '/')


def _worst_first(row: dict) -> tuple:
    """Sort key: unknown (NaN) scores, then lowest scores, then by name."""
    score = float(row['score'])
    return (not math.isnan(score), 0.0 if math.isnan(score) else score,
            row['name'])


def _pack_row(row: dict, flag_index: Dict[str, int],
              measure_names: Sequence[str]) -> list:
    """One row as the page reads it: a list, so 50,000 rows stay small.

    The columns are name, thumb, mask, cutout, photo, score, measures (in
    ``measure_names`` order, null where missing) and flags (indices into
    the page's flag list); the page's script names them in this order.
    """
    unknown = [flag for flag in row['flags'] if flag not in flag_index]
    if unknown:
        raise ValueError(
            f'row {row["name"]!r} has flags {unknown} missing from the '
            f'flags given ({list(flag_index)}); add them there')
    measures = row['measures']
    return [
        row['name'],
        _url_path(row['thumb']),
        _url_path(row['mask']),
        _url_path(row['cutout']),
        _url_path(row['photo']),
        _number(row['score']),
        [
            _number(measures[name]) if name in measures else None
            for name in measure_names
        ],
        sorted(flag_index[flag] for flag in set(row['flags'])),
    ]


def _script_literal(data: dict) -> str:
    """``data`` as a JavaScript literal that no string in it can end early.

    JSON with ASCII escapes is valid JavaScript (U+2028 and U+2029, which
    older engines refuse inside strings, are escaped too); ``<``, ``>`` and
    ``&`` only occur inside strings there, and their ``\\u`` escapes keep a
    ``</script>`` in a name from closing a script should the data ever be
    inlined into the page.
    """
    text = json.dumps(
        data, ensure_ascii=True, allow_nan=False, separators=(',', ':'))
    return text.translate(_SCRIPT_ESCAPES)


def write_review_page(out_dir: str,
                      rows: Sequence[dict],
                      flags: Sequence[str],
                      title: str = 'Masks for review',
                      page_size: int = 60) -> str:
    """Write a page for reviewing masks, worst-scored first.

    Args:
        out_dir (str): The output folder; ``index.html`` and
            ``review_data.js`` go there, and every path of ``rows`` is
            relative to it.
        rows (Sequence[dict]): One per photo, with ``name`` (the photo's
            relative path, unique), ``thumb``, ``mask``, ``cutout`` and
            ``photo`` (file paths relative to ``out_dir``; ``photo`` may
            start with ``../``), ``score`` (float in [0, 1], higher is a
            better mask; NaN sorts first), ``measures`` (dict of name to
            float, shown with the score) and ``flags`` (list of str, each
            one of ``flags``).
        flags (Sequence[str]): Every flag a row may carry, in the order the
            page's filters list them.
        title (str): Title of the page. Defaults to 'Masks for review'.
        page_size (int): Thumbnails per page at first; the page offers
            others. Defaults to 60.

    Returns:
        str: Path of ``index.html``.
    """
    if page_size < 1:
        raise ValueError(f'page_size must be at least 1, got {page_size}')
    if len(set(flags)) != len(flags):
        raise ValueError(f'flags {list(flags)} repeat a name')
    name_counts = Counter(row['name'] for row in rows)
    repeated = sorted(name for name, n in name_counts.items() if n > 1)
    if repeated:
        raise ValueError(f'rows repeat the names {repeated[:5]}; the page '
                         'tells photos apart by name')
    flag_index = {flag: i for i, flag in enumerate(flags)}
    # Measure names in the order rows first give them.
    measure_names: List[str] = list(
        dict.fromkeys(name for row in rows for name in row['measures']))
    data = dict(
        flags=list(flags),
        measures=measure_names,
        pageSize=page_size,
        rows=[
            _pack_row(row, flag_index, measure_names)
            for row in sorted(rows, key=_worst_first)
        ])
    # The data first: a page is never left pointing at missing data.
    write_bytes_whole(
        osp.join(out_dir, DATA_FILE),
        f'window.REVIEW_DATA = {_script_literal(data)};\n'.encode('utf-8'))
    index_path = osp.join(out_dir, INDEX_FILE)
    page = _page_template().replace('{{data_file}}', DATA_FILE)
    page = page.replace('{{title}}', html.escape(title))
    write_bytes_whole(index_path, page.encode('utf-8'))
    return index_path

