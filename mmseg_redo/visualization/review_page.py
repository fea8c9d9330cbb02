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
"""
import html
import json
import math
import os
import os.path as osp
from collections import Counter
from typing import Dict, List, Optional, Sequence

from ..utils.file_io import write_bytes_whole

#: File names of the page and of its data, inside the output folder.
INDEX_FILE = 'index.html'
DATA_FILE = 'review_data.js'
#: Significant digits kept of scores and measures: the page shows three,
#: and 50,000 rows of full floats would make the data several times larger.
_DIGITS = 6
#: Characters written as ``\\u`` escapes in the data (see _script_literal).
_SCRIPT_ESCAPES = {
    ord('<'): '\\u003c',
    ord('>'): '\\u003e',
    ord('&'): '\\u0026'
}


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
    page = _PAGE.replace('{{data_file}}', DATA_FILE)
    page = page.replace('{{title}}', html.escape(title))
    write_bytes_whole(index_path, page.encode('utf-8'))
    return index_path


# The page: plain HTML, CSS and JavaScript with no dependency, so that it
# works offline from the output folder in any current browser. Its state
# (sort, filters, page, page size, open photo) lives in the URL's hash,
# so a reload or a shared link keeps it and Back undoes a step.
_PAGE = r'''<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<link rel="icon" href="data:,">
<style>
  :root { color-scheme: dark; }
  body { margin: 0; background: #1c1c1c; color: #ddd;
         font: 14px/1.4 system-ui, sans-serif; }
  header { position: sticky; top: 0; z-index: 1; background: #262626;
           border-bottom: 1px solid #3a3a3a; padding: 8px 16px; }
  h1 { font-size: 18px; margin: 0 0 6px; }
  .controls { display: flex; flex-wrap: wrap; gap: 6px 18px;
              align-items: center; }
  .filters label { margin-right: 10px; white-space: nowrap; }
  .count { color: #999; }
  .pager { display: flex; gap: 8px; align-items: center;
           padding: 8px 16px; }
  .pager form { display: inline; }
  .pager input { width: 5em; }
  #status { padding: 0 16px; color: #aaa; }
  #grid { display: grid; gap: 10px; padding: 8px 16px;
          grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); }
  .cell { display: block; padding: 4px; border: 1px solid #3a3a3a;
          border-radius: 4px; background: #262626; color: inherit;
          font: inherit; text-align: left; cursor: pointer; min-width: 0; }
  .cell:hover, .cell:focus { border-color: #bbb; outline: none; }
  .thumb { display: block; width: 100%; aspect-ratio: 1;
           object-fit: contain; }
  .cell.missing .thumb { visibility: hidden; }
  .cell.missing .name::before { content: '(no thumbnail) '; color: #c99; }
  .name, .measures { display: block; font-size: 12px; overflow: hidden;
                     white-space: nowrap; text-overflow: ellipsis; }
  .measures { color: #aaa; white-space: normal; }
  .flag { display: inline-block; margin: 2px 4px 0 0; padding: 0 4px;
          border-radius: 3px; background: #4a4540; color: #e6dccf;
          font-size: 11px; }
  #detail { position: fixed; inset: 0; z-index: 2; overflow: auto;
            background: #141414; padding: 12px 20px; }
  #detail[hidden] { display: none; }
  #detail h2 { font-size: 16px; margin: 0 0 8px; word-break: break-all; }
  .detail-bar { display: flex; gap: 8px; align-items: center;
                margin-bottom: 8px; }
  .views { display: flex; flex-wrap: wrap; gap: 12px; }
  .views figure { margin: 0; flex: 1 1 280px; min-width: 0; }
  .views img { display: block; width: 100%; max-height: 70vh;
               object-fit: contain; background: #111; }
  .views .cutout img { background: repeating-conic-gradient(
      #777 0 25%, #999 0 50%) 0 0 / 16px 16px; }
  .views figcaption a { color: #bcd; }
  #detail table { border-collapse: collapse; margin-top: 10px; }
  #detail td { padding: 1px 12px 1px 0; }
  .hint { color: #888; font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>{{title}}</h1>
  <div class="controls">
    <label>Order <select id="sort">
      <option value="worst">worst score first</option>
      <option value="best">best score first</option>
      <option value="name">by name</option>
    </select></label>
    <label>Per page <select id="size"></select></label>
    <span class="filters" id="filters"><b>Show only:</b> </span>
  </div>
</header>
<nav class="pager" id="pager-top"></nav>
<p id="status">Loading&hellip;</p>
<main id="grid"></main>
<nav class="pager" id="pager-bottom"></nav>
<div id="detail" hidden role="dialog" aria-modal="true"
     aria-labelledby="detail-name">
  <div class="detail-bar">
    <button type="button" id="detail-prev">&larr; previous</button>
    <button type="button" id="detail-next">next &rarr;</button>
    <button type="button" id="detail-close">close</button>
    <span id="detail-position"></span>
    <span class="hint">Esc closes, &larr; &rarr; step through</span>
  </div>
  <h2 id="detail-name"></h2>
  <div class="views" id="detail-views"></div>
  <table id="detail-measures"></table>
  <div id="detail-flags"></div>
</div>
<script src="{{data_file}}"></script>
<script>
(function () {
  'use strict';
  var data = window.REVIEW_DATA;
  function $(id) { return document.getElementById(id); }
  if (!data) {
    $('status').textContent = 'The data, {{data_file}}, did not load: ' +
        'keep it beside this page.';
    return;
  }
  // Columns of a row, as review_page.py packs them.
  var NAME = 0, THUMB = 1, MASK = 2, CUTOUT = 3, PHOTO = 4, SCORE = 5,
      MEASURES = 6, FLAGS = 7;
  var SORTS = ['worst', 'best', 'name'];
  var rows = data.rows;
  var flagCounts = data.flags.map(function () { return 0; });
  var unflaggedCount = 0;
  var rowByName = new Map();
  rows.forEach(function (row, i) {
    rowByName.set(row[NAME], i);
    row[FLAGS].forEach(function (f) { flagCounts[f] += 1; });
    if (!row[FLAGS].length) unflaggedCount += 1;
  });

  // Row orders, each made once: rows come worst-first.
  var orders = {};
  function order(sort) {
    if (!orders[sort]) {
      var indices = rows.map(function (row, i) { return i; });
      if (sort === 'best') {
        indices.reverse();
      } else if (sort === 'name') {
        // Plain string order: a locale's collator takes several times
        // longer on 50,000 names.
        indices.sort(function (a, b) {
          var x = rows[a][NAME], y = rows[b][NAME];
          return x < y ? -1 : x > y ? 1 : 0;
        });
      }
      orders[sort] = indices;
    }
    return orders[sort];
  }

  // ---- State, kept in the URL's hash ----
  function decode(text) {
    try { return decodeURIComponent(text); } catch (e) { return ''; }
  }
  function readState() {
    var state = {sort: 'worst', show: [], unflagged: false, page: 1,
                 size: data.pageSize, open: ''};
    location.hash.replace(/^#/, '').split('&').forEach(function (part) {
      var eq = part.indexOf('=');
      if (eq < 0) return;
      var key = part.slice(0, eq), value = part.slice(eq + 1);
      if (key === 'sort' && SORTS.indexOf(value) >= 0) state.sort = value;
      if (key === 'page') state.page = parseInt(value, 10) || 1;
      if (key === 'size') state.size = parseInt(value, 10) || state.size;
      if (key === 'unflagged') state.unflagged = value === '1';
      if (key === 'open') state.open = decode(value);
      if (key === 'show') {
        state.show = value.split(',').map(decode).filter(function (f) {
          return data.flags.indexOf(f) >= 0;
        });
      }
    });
    state.size = Math.max(1, state.size);
    return state;
  }
  function hashOf(state) {
    var parts = ['sort=' + state.sort, 'page=' + state.page,
                 'size=' + state.size];
    if (state.show.length) {
      parts.push('show=' + state.show.map(encodeURIComponent).join(','));
    }
    if (state.unflagged) parts.push('unflagged=1');
    if (state.open) parts.push('open=' + encodeURIComponent(state.open));
    return parts.join('&');
  }
  function go(changes) {
    var state = readState();
    Object.keys(changes).forEach(function (k) { state[k] = changes[k]; });
    var hash = hashOf(state);
    if (location.hash.replace(/^#/, '') === hash) render();
    else location.hash = hash;
  }

  // Rows shown (indices into rows), kept while sort and filters stay.
  var shownKey = null, shown = [];
  function shownRows(state) {
    var key = [state.sort, state.unflagged, state.show.join('\n')].join('|');
    if (key !== shownKey) {
      var wanted = state.show.map(function (f) {
        return data.flags.indexOf(f);
      });
      var all = order(state.sort);
      shown = (!wanted.length && !state.unflagged) ? all : all.filter(
          function (i) {
            var flags = rows[i][FLAGS];
            if (!flags.length) return state.unflagged;
            return flags.some(function (f) { return wanted.indexOf(f) >= 0; });
          });
      shownKey = key;
    }
    return shown;
  }

  // ---- Drawing ----
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  // Relative file path to URL: each segment percent-encoded, so names with
  // spaces, '#', '?', '%' or quotes still point at their file.
  function fileUrl(path) {
    return path.split('/').map(encodeURIComponent).join('/');
  }
  function formatNumber(value) {
    return value === null ? 'n/a' : String(+value.toPrecision(3));
  }
  function tail(name, length) {
    var chars = Array.from(name);
    return chars.length <= length ? name :
        '\u2026' + chars.slice(1 - length).join('');
  }
  function measureText(row) {
    var parts = ['score ' + formatNumber(row[SCORE])];
    data.measures.forEach(function (m, i) {
      parts.push(m + ' ' + formatNumber(row[MEASURES][i]));
    });
    return parts.join(' \u00b7 ');
  }
  function flagBadges(row, parent) {
    row[FLAGS].forEach(function (f) {
      parent.appendChild(el('span', 'flag', data.flags[f]));
    });
  }

  function cell(rowIndex, position) {
    var row = rows[rowIndex];
    var button = el('button', 'cell');
    button.type = 'button';
    button.dataset.position = position;
    button.title = row[NAME];
    var img = el('img', 'thumb');
    img.loading = 'lazy';
    img.decoding = 'async';
    img.alt = row[NAME];
    img.addEventListener('error', function () {
      button.classList.add('missing');
    });
    img.src = fileUrl(row[THUMB]);
    button.appendChild(img);
    button.appendChild(el('span', 'name', tail(row[NAME], 28)));
    button.appendChild(el('span', 'measures', measureText(row)));
    flagBadges(row, button);
    return button;
  }

  function buildFilters() {
    var box = $('filters');
    function checkbox(label, count, onChange) {
      var wrap = el('label');
      var input = el('input');
      input.type = 'checkbox';
      input.addEventListener('change', onChange);
      wrap.appendChild(input);
      wrap.appendChild(document.createTextNode(' ' + label + ' '));
      wrap.appendChild(el('span', 'count', '(' + count + ')'));
      box.appendChild(wrap);
      return input;
    }
    var inputs = data.flags.map(function (flag, f) {
      return checkbox(flag, flagCounts[f], function () {
        var show = data.flags.filter(function (g, k) {
          return inputs[k].checked;
        });
        go({show: show, page: 1, open: ''});
      });
    });
    var unflagged = checkbox('no flag', unflaggedCount, function () {
      go({unflagged: unflagged.checked, page: 1, open: ''});
    });
    return {flags: inputs, unflagged: unflagged};
  }

  function buildSizes() {
    var sizes = [30, 60, 120, 240, 480];
    if (sizes.indexOf(data.pageSize) < 0) sizes.push(data.pageSize);
    sizes.sort(function (a, b) { return a - b; });
    sizes.forEach(function (size) {
      var option = el('option', null, String(size));
      option.value = size;
      $('size').appendChild(option);
    });
  }

  function drawPager(nav, page, pages) {
    nav.textContent = '';
    var prev = el('button', null, '\u2190 previous');
    prev.type = 'button';
    prev.disabled = page <= 1;
    prev.addEventListener('click', function () { go({page: page - 1}); });
    var next = el('button', null, 'next \u2192');
    next.type = 'button';
    next.disabled = page >= pages;
    next.addEventListener('click', function () { go({page: page + 1}); });
    var form = el('form');
    var jump = el('input');
    jump.type = 'number';
    jump.min = 1;
    jump.max = pages;
    jump.value = page;
    jump.setAttribute('aria-label', 'page');
    var goButton = el('button', null, 'go');
    goButton.type = 'submit';
    form.appendChild(document.createTextNode('go to page '));
    form.appendChild(jump);
    form.appendChild(goButton);
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      go({page: parseInt(jump.value, 10) || 1});
    });
    nav.appendChild(prev);
    nav.appendChild(el('span', 'page-info',
                       'page ' + page + ' of ' + pages));
    nav.appendChild(next);
    nav.appendChild(form);
  }

  var gridKey = null;
  function drawGrid(state, list) {
    var pages = Math.max(1, Math.ceil(list.length / state.size));
    var page = Math.min(Math.max(1, state.page), pages);
    var key = [shownKey, page, state.size].join('|');
    if (key === gridKey) return;
    gridKey = key;
    var first = (page - 1) * state.size;
    var last = Math.min(first + state.size, list.length);
    var grid = $('grid');
    grid.textContent = '';
    var fragment = document.createDocumentFragment();
    for (var p = first; p < last; p++) fragment.appendChild(cell(list[p], p));
    grid.appendChild(fragment);
    $('status').textContent = list.length ?
        'Photos ' + (first + 1) + '\u2013' + last + ' of ' + list.length +
        (list.length < rows.length ? ' (of ' + rows.length + ' in all)' :
         '') : 'No photo matches the filters.';
    drawPager($('pager-top'), page, pages);
    drawPager($('pager-bottom'), page, pages);
    window.scrollTo(0, 0);
  }

  function figure(className, label, path, alt) {
    var fig = el('figure', className);
    var link = el('a');
    link.href = fileUrl(path);
    var img = el('img');
    img.alt = alt;
    img.src = link.href;
    link.appendChild(img);
    var caption = el('figcaption');
    var text = el('a', null, label + ' \u2197');
    text.href = link.href;
    caption.appendChild(text);
    fig.appendChild(link);
    fig.appendChild(caption);
    return fig;
  }

  // The open photo's name, and its position (to focus its cell on close).
  var openName = null, lastPosition = -1;
  function drawDetail(state, list) {
    var rowIndex = rowByName.get(state.open);
    var position = rowIndex === undefined ? -1 : list.indexOf(rowIndex);
    var detail = $('detail');
    if (position < 0) {
      if (!detail.hidden) {
        detail.hidden = true;
        var back = document.querySelector(
            '.cell[data-position="' + lastPosition + '"]');
        if (back) back.focus();
      }
      openName = null;
      return;
    }
    lastPosition = position;
    $('detail-position').textContent = (position + 1) + ' of ' + list.length;
    $('detail-prev').disabled = position === 0;
    $('detail-next').disabled = position === list.length - 1;
    // The same photo again (another sort in the hash): keep its images.
    if (openName === state.open && !detail.hidden) return;
    openName = state.open;
    var row = rows[rowIndex];
    $('detail-name').textContent = row[NAME];
    var views = $('detail-views');
    views.textContent = '';
    views.appendChild(figure('photo', 'photo', row[PHOTO],
                             'photo ' + row[NAME]));
    views.appendChild(figure('mask', 'mask', row[MASK],
                             'mask of ' + row[NAME]));
    views.appendChild(figure('cutout', 'cut-out', row[CUTOUT],
                             'cut-out of ' + row[NAME]));
    var table = $('detail-measures');
    table.textContent = '';
    var names = ['score'].concat(data.measures);
    var values = [row[SCORE]].concat(row[MEASURES]);
    names.forEach(function (name, i) {
      var tr = el('tr');
      tr.appendChild(el('td', null, name));
      tr.appendChild(el('td', null, formatNumber(values[i])));
      table.appendChild(tr);
    });
    var flags = $('detail-flags');
    flags.textContent = row[FLAGS].length ? 'flags: ' : 'no flag';
    flagBadges(row, flags);
    detail.hidden = false;
    $('detail-close').focus();
  }

  function step(delta) {
    var state = readState();
    var list = shownRows(state);
    var position = list.indexOf(rowByName.get(state.open)) + delta;
    if (position < 0 || position >= list.length) return;
    // The grid follows, so closing shows the page of the last photo seen.
    go({open: rows[list[position]][NAME],
        page: Math.floor(position / state.size) + 1});
  }

  var inputs = buildFilters();
  buildSizes();
  function render() {
    var state = readState();
    $('sort').value = state.sort;
    $('size').value = state.size;
    inputs.flags.forEach(function (input, f) {
      input.checked = state.show.indexOf(data.flags[f]) >= 0;
    });
    inputs.unflagged.checked = state.unflagged;
    var list = shownRows(state);
    drawGrid(state, list);
    drawDetail(state, list);
  }

  $('sort').addEventListener('change', function () {
    go({sort: $('sort').value, page: 1});
  });
  $('size').addEventListener('change', function () {
    go({size: parseInt($('size').value, 10), page: 1});
  });
  $('grid').addEventListener('click', function (event) {
    var button = event.target.closest('.cell');
    if (!button) return;
    var position = +button.dataset.position;
    go({open: rows[shownRows(readState())[position]][NAME]});
  });
  $('detail-close').addEventListener('click', function () {
    go({open: ''});
  });
  $('detail-prev').addEventListener('click', function () { step(-1); });
  $('detail-next').addEventListener('click', function () { step(1); });
  document.addEventListener('keydown', function (event) {
    if ($('detail').hidden || event.altKey || event.ctrlKey ||
        event.metaKey) return;
    if (event.key === 'Escape') go({open: ''});
    else if (event.key === 'ArrowLeft') step(-1);
    else if (event.key === 'ArrowRight') step(1);
    else return;
    event.preventDefault();
  });
  window.addEventListener('hashchange', render);
  render();
})();
</script>
</body>
</html>
'''
