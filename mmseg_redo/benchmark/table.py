"""The benchmark table: scored rows as a README block and an mmseg metafile.

:func:`write_benchmark_table` scores every row of a rows file
(:mod:`.rows`), puts the markdown table between marker comments of a
README (text outside them is kept) and writes the same results into an
mmseg-style metafile. A column is a header and the function that gives a
scored row's cell (:func:`table_columns`), so adding one is one line.
"""
import json
import os
import os.path as osp
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import yaml

from .rows import load_entries, missing_checkpoints, score_row

TABLE_START = '<!-- benchmark-table:start -->'
TABLE_END = '<!-- benchmark-table:end -->'
#: Header of the column that ``curves=True`` adds: each run's validation
#: object IoU, from its logs.
CURVE_COLUMN = 'Val object IoU: best (iter) / last'
#: A table column: its header, and the function giving a scored row's cell.
Column = Tuple[str, Callable[[Dict[str, Any]], str]]


class NoRowScored(RuntimeError):
    """Every row was skipped: there is no table to write."""


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


def _object_iou_cell(result: Dict[str, Any]) -> str:
    """The mean object IoU, and each run's when there are several."""
    cell = _fraction(result['metrics'], 'object_iou')
    runs = result.get('runs', [])
    if len(runs) > 1:
        cell += ' (' + ', '.join(
            _fraction(r['metrics'], 'object_iou') for r in runs) + ')'
    return cell


def _curve_cell(result: Dict[str, Any]) -> str:
    """Each run's best validation object IoU (its iteration) and last."""
    cells = []
    for run in result.get('runs', []):
        if run['val_curve']:
            step, best = max(run['val_curve'], key=lambda c: c[1])
            last = run['val_curve'][-1][1]
            cells.append(f'{best:.3f} ({step}) / {last:.3f}')
    return '; '.join(cells) or 'n/a'


def table_columns(link_dir: str, curves: bool = False) -> List[Column]:
    """The table's columns, in order.

    Args:
        link_dir (str): Folder of the README the table goes into: the
            config links are relative to it.
        curves (bool): Add :data:`CURVE_COLUMN`. Defaults to False.

    Returns:
        list[tuple[str, callable]]: Header and cell function of each column.
    """

    def metric(key: str, percent: bool = False) -> Callable:
        return lambda r: _fraction(r['metrics'], key, percent)

    def config_link(r: Dict[str, Any]) -> str:
        link = osp.relpath(osp.abspath(r['config']), link_dir)
        return f"[{osp.basename(r['config'])}]({link})"

    columns: List[Column] = [
        ('Method', lambda r: r['name']),
        ('Labels used', lambda r: str(r.get('labels') or 'none')),
        ('Object IoU', _object_iou_cell),
        ('mIoU', metric('mIoU', percent=True)),
        ('Pixel acc.', metric('aAcc', percent=True)),
        ('Best-of-2 IoU (ref.)', metric('redo_iou_best_of_2')),
        ('Best-of-2 acc. (ref.)', metric('redo_acc_best_of_2')),
        ('Params (inference / total)',
         lambda r: f"{format_params(r['params']['inference'])} / "
         f"{format_params(r['params']['total'])}"),
        ('Training time', lambda r: r['train_time_text']),
        ('Input', lambda r: r['input']),
        ('Config', config_link),
        ('Notes', lambda r: '; '.join(
            str(x) for x in (r.get('device'), r.get('notes')) if x)),
    ]
    if curves:
        columns.append((CURVE_COLUMN, _curve_cell))
    return columns


def markdown_table(results: Sequence[Dict[str, Any]],
                   curves: bool = False,
                   link_dir: str = '.') -> str:
    """The results as a markdown table (all scores as fractions).

    Args:
        results (Sequence[dict]): Outputs of :func:`.rows.score_row`.
        curves (bool): Add :data:`CURVE_COLUMN`. Defaults to False.
        link_dir (str): Folder the config links are relative to (the
            README's). Defaults to the working directory.

    Returns:
        str: The table, one line per row, with a trailing newline.
    """
    columns = table_columns(link_dir, curves)
    lines = [
        '| ' + ' | '.join(header for header, _ in columns) + ' |',
        '|' + '|'.join('---' for _ in columns) + '|'
    ]
    for r in results:
        # A '|' inside a cell (a name, a note) would split the cell.
        lines.append('| ' + ' | '.join(
            cell(r).replace('|', '/') for _, cell in columns) + ' |')
    return '\n'.join(lines) + '\n'


def write_readme_table(readme: str,
                       table: str,
                       preamble: str,
                       marker: str = 'benchmark-table') -> None:
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
    text = open(readme).read() if osp.isfile(readme) else ''
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


def metafile(results: Sequence[Dict[str, Any]],
             dataset: str,
             collection: str,
             readme: str,
             root: str = '.') -> Dict[str, Any]:
    """The results in mmseg's metafile format (``configs/*/metafile.yaml``).

    Metrics are in percent, as in mmseg's metafiles.

    Args:
        results (Sequence[dict]): Outputs of :func:`.rows.score_row`.
        dataset (str): The dataset's name.
        collection (str): The collection's name.
        readme (str): The README holding the table.
        root (str): The repository: config and README paths are relative
            to it. Defaults to the working directory.

    Returns:
        dict: ``Collections`` and ``Models``, to dump as YAML.
    """
    models = []
    for r in results:
        m = r['metrics']
        metrics = {}
        for key, name in (('mIoU', 'mIoU'), ('aAcc', 'aAcc'),
                          ('object_iou', 'Object IoU'), ('redo_iou_best_of_2',
                                                         'Best-of-2 IoU'),
                          ('redo_acc_best_of_2', 'Best-of-2 Acc')):
            if key in m and m[key] == m[key]:
                value = m[key] if key in ('mIoU', 'aAcc') else 100 * m[key]
                metrics[name] = round(value, 2)
        models.append({
            'Name': r['name'],
            'In Collection': collection,
            'Results': {
                'Task': 'Semantic Segmentation',
                'Dataset': dataset,
                'Metrics': metrics
            },
            'Config': osp.relpath(osp.abspath(r['config']), root),
            'Metadata': {
                'Training Data': dataset,
                'Labels Used': str(r.get('labels') or 'none'),
                'Training Time': r['train_time_text'],
                'Training Resources': str(r.get('device') or 'unknown'),
                'Crop Size': r['input'],
                'Parameters (inference)': r['params']['inference'],
                'Parameters (total)': r['params']['total'],
            },
            'Weights': r['checkpoint_path'],
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


def _rewrite_command(entries: str, split: str, marker: str,
                     metafile_path: Optional[str], skip_missing: bool,
                     curves: bool) -> str:
    """The command that writes the table again, for its preamble."""
    flags = [f'--split {split}']
    if marker != 'benchmark-table':
        flags.append(f'--marker {marker}')
    if not metafile_path:
        flags.append("--metafile ''")
    flags += [
        flag for flag, on in (('--skip-missing', skip_missing),
                              ('--curves', curves)) if on
    ]
    return f'python tools/benchmark_table.py {entries} ' + ' '.join(flags)


def table_preamble(dataset: str, split: str, command: str) -> str:
    """What the table shows and how it was written, above the table."""
    return (f'{dataset}, `{split}` split; written by `{command}` (do not '
            'edit by hand). Object IoU: dataset-level '
            'IoU of the object class with the model\'s own mask-to-class '
            'assignment; mIoU and pixel accuracy: mmseg\'s IoUMetric '
            '(fractions here); best-of-2: the ReDO reference\'s per-image '
            'protocol (the better of the mask and its inverse, per image), '
            'which flatters. Ignore pixels are excluded everywhere.')


def write_benchmark_table(entries: str,
                          readme: str,
                          split: str = 'test',
                          marker: str = 'benchmark-table',
                          metafile_path: Optional[str] = None,
                          json_out: Optional[str] = None,
                          curves: bool = False,
                          skip_missing: bool = False,
                          work_dir: Optional[str] = None,
                          cfg_options: Optional[dict] = None,
                          root: str = '.') -> List[Dict[str, Any]]:
    """Score every row of a rows file and write the table.

    Each row's scores are printed as it is done, and the table at the end.

    Args:
        entries (str): The rows file (YAML or JSON, see :mod:`.rows`).
        readme (str): README whose block between ``marker``'s comments is
            replaced (see :func:`write_readme_table`).
        split (str): ``'test'`` or ``'val'``: which dataloader and
            evaluator of each config to use. Defaults to ``'test'``.
        marker (str): The README block's name. Defaults to
            ``'benchmark-table'``.
        metafile_path (str, optional): mmseg-style metafile to write.
            Defaults to None: none.
        json_out (str, optional): Also dump every row and its metrics as
            JSON there. Defaults to None.
        curves (bool): Add each run's best and last validation object IoU,
            from its logs. Defaults to False.
        skip_missing (bool): Leave out rows whose checkpoint does not
            exist yet instead of stopping with an error. Defaults to False.
        work_dir (str, optional): Where the runners log (a ``row_<i>``
            folder each). Defaults to temporary folders.
        cfg_options (dict, optional): Overrides applied to every row's
            config.
        root (str): The repository, which the metafile's paths are
            relative to. Defaults to the working directory.

    Returns:
        list[dict]: The scored rows (:func:`.rows.score_row`).

    Raises:
        NoRowScored: With ``skip_missing``, when every row was skipped.
    """
    data = load_entries(entries)
    results = []
    for i, row in enumerate(data['rows']):
        missing = missing_checkpoints(row)
        if skip_missing and missing:
            print(f"skipping {row['name']}: no checkpoint matches "
                  f'{missing}')
            continue
        row_dir = osp.join(work_dir, f'row_{i}') if work_dir else None
        results.append(score_row(row, split, cfg_options, row_dir))
        print(f"{row['name']}: " +
              ', '.join(f'{k}={v:.4f}'
                        for k, v in results[-1]['metrics'].items()))
    if not results:
        raise NoRowScored('no row could be scored (no checkpoint exists)')
    dataset = data.get('dataset', 'Flowers-17')
    table = markdown_table(
        results, curves, link_dir=osp.dirname(osp.abspath(readme)))
    command = _rewrite_command(entries, split, marker, metafile_path,
                               skip_missing, curves)
    write_readme_table(readme, table, table_preamble(dataset, split, command),
                       marker)
    if metafile_path:
        with open(metafile_path, 'w') as f:
            yaml.safe_dump(
                metafile(results, dataset, data.get('collection', 'ReDO'),
                         readme, root),
                f,
                sort_keys=False)
    if json_out:
        with open(json_out, 'w') as f:
            json.dump(results, f, indent=2, default=str)
    print(table)
    return results
