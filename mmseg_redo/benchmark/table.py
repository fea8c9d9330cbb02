"""The benchmark table: stored rows as a README block and an mmseg metafile.

Everything here renders *views*: a row of the rows file (its name, labels,
device, notes, config) joined with its results-store entry (the numbers and
their provenance, :mod:`.store`) by :func:`row_view`, so a table shows only
stored numbers. A column is a header and the function that gives a view's
cell (:func:`table_columns`), so adding one is one line; the compact view
(README.md's results) keeps :data:`COMPACT_COLUMNS`.
"""
import os
import os.path as osp
import re
from typing import Any, Callable, Dict, List, Sequence, Tuple

from .rows import is_mask_row

#: The README block a table goes into unless told otherwise.
DEFAULT_MARKER = 'benchmark-table'
TABLE_START = f'<!-- {DEFAULT_MARKER}:start -->'
TABLE_END = f'<!-- {DEFAULT_MARKER}:end -->'
#: Header of the column that ``curves=True`` adds: each run's validation
#: object IoU, from its logs.
CURVE_COLUMN = 'Val object IoU: best (iter) / last'
#: The columns of the compact view, in order.
COMPACT_COLUMNS = ('Method', 'Labels used', 'Object IoU', 'Input', 'Config',
                   'Notes', 'Measured')
#: The metric columns after Object IoU: score key and header. mIoU and
#: aAcc are in percent (mmseg's IoUMetric), shown as fractions.
METRIC_COLUMNS = (('mIoU', 'mIoU'), ('aAcc', 'Pixel acc.'),
                  ('redo_iou_best_of_2', 'Best-of-2 IoU (ref.)'),
                  ('redo_acc_best_of_2', 'Best-of-2 acc. (ref.)'))
#: Scores already in percent.
PERCENT_METRICS = ('mIoU', 'aAcc')
#: The metafile's metrics: score key and name (in percent there).
METAFILE_METRICS = (('mIoU', 'mIoU'), ('aAcc', 'aAcc'), ('object_iou',
                                                         'Object IoU'),
                    ('redo_iou_best_of_2',
                     'Best-of-2 IoU'), ('redo_acc_best_of_2', 'Best-of-2 Acc'),
                    ('mean_image_iou', 'Mean Image IoU'))
#: A table column: its header, and the function giving a view's cell.
Column = Tuple[str, Callable[[Dict[str, Any]], str]]


def row_view(row: Dict[str, Any], entry: Dict[str, Any]) -> Dict[str, Any]:
    """A row of the rows file with its stored numbers, as tables show it.

    The row gives the name and the descriptive keys, the entry everything
    measured (``metrics``, ``runs``, ``params``, ``train_time``, ``input``)
    and the ``provenance``.
    """
    return dict(row, **{k: v for k, v in entry.items() if k != 'name'})


def format_params(count: int) -> str:
    """Parameters as ``'26.0 k'``, ``'1.82 M'`` or ``'0'``."""
    if count == 0:
        return '0'
    return f'{count / 1e3:.1f} k' if count < 1e6 else f'{count / 1e6:.2f} M'


def _fraction(metrics: Dict[str, float],
              key: str,
              percent: bool = False) -> str:
    value = metrics.get(key)
    if value is None or value != value:  # absent or NaN
        return 'n/a'
    return f'{value / 100 if percent else value:.3f}'


def _object_iou_cell(view: Dict[str, Any]) -> str:
    """The mean object IoU, and each run's when there are several."""
    cell = _fraction(view['metrics'], 'object_iou')
    if len(view['runs']) > 1:
        cell += ' (' + ', '.join(
            _fraction(r['metrics'], 'object_iou') for r in view['runs']) + ')'
    return cell


def _curve_cell(view: Dict[str, Any]) -> str:
    """Each run's best validation object IoU (its iteration) and last."""
    curves = [r.get('val_object_iou') for r in view['runs']]
    return '; '.join(f"{c['best']:.3f} ({c['best_iter']}) / {c['last']:.3f}"
                     for c in curves if c) or 'n/a'


def _params_cell(view: Dict[str, Any]) -> str:
    params = view['params']
    if params is None:
        return 'n/a'
    return (f"{format_params(params['inference'])} / "
            f"{format_params(params['total'])}")


def _notes_cell(view: Dict[str, Any]) -> str:
    """The row's device and notes; what a masks row was scored on."""
    notes = [str(x) for x in (view.get('device'), view.get('notes')) if x]
    if is_mask_row(view):
        notes.append(
            f"scored at the photo's size ({view['runs'][0]['images']} "
            'images; mean per-image IoU '
            f"{_fraction(view['metrics'], 'mean_image_iou')})")
    return '; '.join(notes)


def measured_cell(view: Dict[str, Any]) -> str:
    """``'2026-12-02, commit abc1234'`` (``+``: uncommitted changes)."""
    source = view['provenance']
    changed = '+' if source.get('uncommitted_changes') else ''
    return (f"{source['date']}, commit {source.get('commit') or 'unknown'}"
            f'{changed}')


def table_columns(link_dir: str,
                  curves: bool = False,
                  compact: bool = False) -> List[Column]:
    """The table's columns, in order.

    Args:
        link_dir (str): Folder of the README the table goes into: the
            config links are relative to it.
        curves (bool): Add :data:`CURVE_COLUMN`. Defaults to False.
        compact (bool): Keep only :data:`COMPACT_COLUMNS`. Defaults to
            False.

    Returns:
        list[tuple[str, callable]]: Header and cell function of each column.
    """

    def metric(key: str) -> Callable:
        return lambda v: _fraction(v['metrics'], key, key in PERCENT_METRICS)

    def config_link(view: Dict[str, Any]) -> str:
        if not view.get('config'):
            return ''
        link = osp.relpath(osp.abspath(view['config']), link_dir)
        return f"[{osp.basename(view['config'])}]({link})"

    columns: List[Column] = [
        ('Method', lambda v: v['name']),
        ('Labels used', lambda v: str(v.get('labels') or 'none')),
        ('Object IoU', _object_iou_cell),
        *((header, metric(key)) for key, header in METRIC_COLUMNS),
        ('Params (inference / total)', _params_cell),
        ('Training time', lambda v: v['train_time']),
        ('Input', lambda v: v['input']),
        ('Config', config_link),
        ('Notes', _notes_cell),
        ('Measured', measured_cell),
    ]
    if compact:
        columns = [c for c in columns if c[0] in COMPACT_COLUMNS]
    if curves:
        columns.append((CURVE_COLUMN, _curve_cell))
    return columns


def markdown_table(views: Sequence[Dict[str, Any]],
                   curves: bool = False,
                   link_dir: str = '.',
                   compact: bool = False) -> str:
    """The views as a markdown table (all scores as fractions).

    Args:
        views (Sequence[dict]): Rows with their stored numbers
            (:func:`row_view`).
        curves (bool): Add :data:`CURVE_COLUMN`. Defaults to False.
        link_dir (str): Folder the config links are relative to (the
            README's). Defaults to the working directory.
        compact (bool): The compact view. Defaults to False.

    Returns:
        str: The table, one line per row, with a trailing newline.
    """
    columns = table_columns(link_dir, curves, compact)
    lines = [
        '| ' + ' | '.join(header for header, _ in columns) + ' |',
        '|' + '|'.join('---' for _ in columns) + '|'
    ]
    for view in views:
        # A '|' inside a cell (a name, a note) would split the cell.
        lines.append('| ' + ' | '.join(
            cell.replace('|', '/')
            for cell in render_cells(view, columns).values()) + ' |')
    return '\n'.join(lines) + '\n'


def render_cells(view: Dict[str, Any],
                 columns: Sequence[Column]) -> Dict[str, str]:
    """A view's cells by header; an entry's ``table_cells`` are kept.

    ``table_cells`` hold cells of tables written before the results store
    that its numbers would round otherwise (:mod:`.recorded`).
    """
    kept = view.get('table_cells', {})
    return {header: kept.get(header) or cell(view) for header, cell in columns}


def left_out_note(names: Sequence[str]) -> str:
    """The line under a table naming the rows it could not show."""
    return ('Left out (not scored when the table was written, and no '
            'stored entry): ' + '; '.join(names) + '.\n')


def table_preamble(dataset: str,
                   split: str,
                   command: str,
                   store_link: str,
                   compact: bool = False,
                   photo_size: bool = False) -> str:
    """What the table shows and how it was written, above the table.

    Args:
        dataset (str): The dataset's name.
        split (str): The split.
        command (str): The command that writes the table again.
        store_link (str): The results store, relative to the README.
        compact (bool): Describe the compact view. Defaults to False.
        photo_size (bool): The table has rows scored at the photo's size.
            Defaults to False.
    """
    text = (f'{dataset}, `{split}` split; written by `{command}` from the '
            f'results store [{osp.basename(store_link)}]({store_link}), '
            "which keeps each row's date, commit, machine, checkpoints and "
            'command (do not edit by hand). Object IoU: dataset-level IoU of '
            "the object class with the model's own mask-to-class "
            'assignment')
    if compact:
        text += "; for several seeds, their mean and each seed's."
    else:
        text += ('; mIoU and pixel accuracy: mmseg\'s IoUMetric (fractions '
                 'here); best-of-2: the ReDO reference\'s per-image protocol '
                 '(the better of the mask and its inverse, per image), which '
                 'flatters. Ignore pixels are excluded everywhere.')
    text += (' Measured: the date and commit of the code that scored the row '
             '(`+`: with uncommitted changes); a row whose checkpoints are '
             'not on the machine that writes the table is shown as stored.')
    if photo_size:
        text += (" Rows scored at the photo's size: masks written by "
                 '`tools/segment_folder.py`, compared with the true masks at '
                 "each photo's own size" +
                 ('.' if compact else '; the other metrics are not measured '
                  'there (n/a).'))
    return text


def write_readme_table(readme: str,
                       table: str,
                       preamble: str,
                       marker: str = DEFAULT_MARKER) -> None:
    """Put ``preamble`` and ``table`` between the README's markers.

    Text outside the markers is kept; a README without markers gets them
    appended (a new README is created).

    Args:
        readme (str): Path of the README.
        table (str): The markdown table.
        preamble (str): Lines written above the table.
        marker (str): Name in the marker comments ``<!-- NAME:start -->``
            and ``<!-- NAME:end -->``, so one README can hold several
            tables. Defaults to ``'benchmark-table'``.
    """
    start, end = f'<!-- {marker}:start -->', f'<!-- {marker}:end -->'
    block = f'{start}\n{preamble}\n\n{table}{end}'
    text = ''
    if osp.isfile(readme):
        with open(readme) as f:
            text = f.read()
    if start in text and end in text:
        text = re.sub(
            re.escape(start) + '.*?' + re.escape(end),
            lambda _: block,
            text,
            flags=re.S)
    else:
        text = text.rstrip('\n') + ('\n\n' if text else '') + block + '\n'
    os.makedirs(osp.dirname(osp.abspath(readme)), exist_ok=True)
    with open(readme, 'w') as f:
        f.write(text)


def metafile(views: Sequence[Dict[str, Any]],
             dataset: str,
             collection: str,
             readme: str,
             root: str = '.') -> Dict[str, Any]:
    """The views in mmseg's metafile format (``configs/*/metafile.yaml``).

    Metrics are in percent, as in mmseg's metafiles; a row's ``Measured``
    is its provenance's date and commit.

    Args:
        views (Sequence[dict]): Rows with their stored numbers
            (:func:`row_view`).
        dataset (str): The dataset's name.
        collection (str): The collection's name.
        readme (str): The README holding the table.
        root (str): The repository: config and README paths are relative
            to it. Defaults to the working directory.

    Returns:
        dict: ``Collections`` and ``Models``, to dump as YAML.
    """
    models = []
    for view in views:
        m = view['metrics']
        metrics = {
            name: round(m[key] if key in PERCENT_METRICS else 100 * m[key], 2)
            for key, name in METAFILE_METRICS if key in m and m[key] == m[key]
        }
        metadata = {
            'Training Data': dataset,
            'Labels Used': str(view.get('labels') or 'none'),
            'Training Time': view['train_time'],
            'Training Resources': str(view.get('device') or 'unknown'),
            'Crop Size': view['input'],
        }
        if view['params'] is not None:
            metadata['Parameters (inference)'] = view['params']['inference']
            metadata['Parameters (total)'] = view['params']['total']
        metadata['Measured'] = measured_cell(view)
        models.append({
            'Name':
            view['name'],
            'In Collection':
            collection,
            'Results': {
                'Task': 'Semantic Segmentation',
                'Dataset': dataset,
                'Metrics': metrics
            },
            'Config':
            osp.relpath(osp.abspath(view['config']), root)
            if view.get('config') else None,
            'Metadata':
            metadata,
            'Weights':
            view['runs'][0].get('checkpoint'),
        })
    return {
        'Collections': [{
            'Name': collection,
            'License': 'MIT',
            'Metadata': {
                'Training Data': [dataset]
            },
            'Paper': {
                'Title': 'Unsupervised Object Segmentation by Redrawing',
                'URL': 'https://arxiv.org/abs/1905.13539'
            },
            'README': osp.relpath(osp.abspath(readme), root),
            'Frameworks': ['PyTorch'],
        }],
        'Models':
        models,
    }
