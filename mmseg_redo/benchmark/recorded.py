"""Seed the results store with the tables written before it existed.

Until the results store, ``tools/benchmark_table.py`` wrote its numbers
only into README blocks and the metafile, and they could not be written
again without the checkpoints. :func:`import_recorded` reads those blocks
and the metafile as git holds them at a revision and stores every row that
the rows file lists under the same name, with its provenance: the commit
that last changed the row's line (``git blame``), that commit's date, and
the command in the block's preamble. The numbers are the metafile's where
it has the row (percent, two decimals), else the table's (fractions, three
decimals), and where rounding the metafile's number again would move a
table cell (83.05 percent shown as 0.830) the cell is kept as the table
showed it (``table_cells``); only the parameter counts of a row the
metafile lacks are counted again, from its config (the table shows them
rounded). Each
imported row is rendered again and compared, cell by cell, with the
recorded one: an import that would change a number stops with an error. A
row already stored (another table's) is only compared.

It was run once per rows file::

    python tools/benchmark_table.py configs/redo/benchmark_flowers17_cpu.yaml \
        --import-recorded 3f1b81d
    python tools/benchmark_table.py configs/redo/ablation_flowers17_cpu.yaml \
        --import-recorded 3f1b81d
"""
import datetime
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Tuple

import yaml
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from .rows import count_parameters, row_config, run_seed
from .store import ResultsStore, git_output
from .table import (CURVE_COLUMN, DEFAULT_MARKER, METAFILE_METRICS,
                    METRIC_COLUMNS, PERCENT_METRICS, render_cells, row_view,
                    table_columns)

#: Columns that describe a row rather than measure it: not compared.
DESCRIPTIVE_COLUMNS = ('Method', 'Labels used', 'Config', 'Notes', 'Measured')


def _blamed_lines(root: str, rev: str,
                  path: str) -> List[Tuple[str, str, str]]:
    """A file's lines at ``rev``, each with its last commit and its date.

    Returns:
        list[tuple[str, str, str]]: Text, short commit and date (UTC);
        empty when the file does not exist at ``rev``.
    """
    if git_output(root, 'cat-file', '-e', f'{rev}:{path}') is None:
        return []
    lines, commit, date = [], '', ''
    for line in git_output(root, 'blame', '--line-porcelain', rev, '--',
                           path).splitlines():
        if line.startswith('\t'):
            lines.append((line[1:], commit[:7], date))
        elif re.match('[0-9a-f]{40} ', line):
            commit = line[:40]
        elif line.startswith('committer-time '):
            date = datetime.datetime.fromtimestamp(
                int(line.split()[1]),
                datetime.timezone.utc).date().isoformat()
    return lines


def _cells(line: str) -> List[str]:
    return [cell.strip() for cell in line.strip()[1:-1].split('|')]


def recorded_rows(root: str, rev: str, readme: str,
                  marker: str) -> Tuple[Optional[str], Dict[str, Any]]:
    """The rows of a README's block as git holds it at ``rev``.

    Args:
        root (str): The repository.
        rev (str): The revision.
        readme (str): The README's path.
        marker (str): The block's name.

    Returns:
        tuple: The command in the block's preamble (None without the
        block), and each row by name: ``cells`` (by header), ``commit`` and
        ``date`` (of the commit that last changed its line).
    """
    lines = _blamed_lines(root, rev, osp.relpath(osp.abspath(readme), root))
    texts = [text for text, _, _ in lines]
    start, end = f'<!-- {marker}:start -->', f'<!-- {marker}:end -->'
    if start not in texts:
        return None, {}
    block = lines[texts.index(start) + 1:texts.index(end)]
    command = re.search('written by `([^`]*)`', block[0][0]).group(1)
    table = [line for line in block if line[0].startswith('|')]
    header = _cells(table[0][0])
    rows = {}
    for text, commit, date in table[2:]:
        cells = dict(zip(header, _cells(text)))
        rows[cells['Method']] = dict(cells=cells, commit=commit, date=date)
    return command, rows


def recorded_models(root: str, rev: str, path: str) -> Dict[str, Any]:
    """A metafile's models by name as git holds it at ``rev``."""
    text = git_output(root, 'show',
                      f'{rev}:{osp.relpath(osp.abspath(path), root)}')
    return {m['Name']: m for m in yaml.safe_load(text)['Models']}


def _in_store_units(key: str, value: float, percent: bool) -> float:
    """A recorded number as the store keeps it: mIoU and aAcc in percent
    (as mmseg's IoUMetric gives them), the others as fractions."""
    if percent == (key in PERCENT_METRICS):
        return value
    return round(value / 100, 4) if percent else round(value * 100, 1)


def _metrics(cells: Dict[str, str],
             model: Optional[Dict[str, Any]]) -> Dict[str, float]:
    """The recorded scores: the metafile's (percent), else the table's."""
    if model:
        values = model['Results']['Metrics']
        return {
            key: _in_store_units(key, values[name], percent=True)
            for key, name in METAFILE_METRICS if name in values
        }
    metrics = {'object_iou': float(cells['Object IoU'].split()[0])}
    for key, header in METRIC_COLUMNS:
        if cells[header] != 'n/a':
            metrics[key] = _in_store_units(
                key, float(cells[header]), percent=False)
    return metrics


def _curves(cells: Dict[str, str], runs: int) -> List[Optional[dict]]:
    """Each run's validation best, its iteration and last, as recorded."""
    found = re.findall(r'([\d.]+) \((\d+)\) / ([\d.]+)',
                       cells.get(CURVE_COLUMN, ''))
    if not found:
        return [None] * runs
    if len(found) != runs:
        raise ValueError(f'{len(found)} validation curves for {runs} runs: '
                         f'{cells[CURVE_COLUMN]!r}')
    return [
        dict(best=float(best), best_iter=int(step), last=float(last))
        for best, step, last in found
    ]


def config_parameters(row: Dict[str, Any]) -> Dict[str, int]:
    """The parameters of a row's model, built (untrained) from its config."""
    init_default_scope('mmseg')
    return count_parameters(MODELS.build(row_config(row).model))


def recorded_entry(row: Dict[str, Any], recorded: Dict[str, Any],
                   model: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """A recorded row's numbers in the store's form (no provenance).

    Args:
        row (dict): The rows file's row.
        recorded (dict): :func:`recorded_rows`'s entry of it.
        model (dict, optional): Its metafile model.
    """
    cells = recorded['cells']
    metrics = _metrics(cells, model)
    seeds = re.search(r'\((.*)\)', cells['Object IoU'])
    per_run = [dict(object_iou=float(v))
               for v in seeds.group(1).split(',')] if seeds else [metrics]
    curves = _curves(cells, len(per_run))
    runs = [
        dict(
            checkpoint=model['Weights'] if model and i == 0 else None,
            seed=run_seed(row, i),
            metrics=run_metrics,
            val_object_iou=curves[i]) for i, run_metrics in enumerate(per_run)
    ]
    if model:
        counts = model['Metadata']
        params = dict(
            inference=counts['Parameters (inference)'],
            total=counts['Parameters (total)'])
    else:
        params = config_parameters(row)
    entry = dict(
        metrics=metrics,
        runs=runs,
        params=params,
        train_time=cells['Training time'],
        input=cells['Input'])
    kept = _double_rounded(metrics, cells) if model else {}
    return dict(entry, table_cells=kept) if kept else entry


def _double_rounded(metrics: Dict[str, float],
                    cells: Dict[str, str]) -> Dict[str, str]:
    """The table's cells that the metafile's numbers would round otherwise.

    The metafile kept percent to two decimals (83.05), the table the
    unrounded score to three (0.830): rounding the metafile's number again
    may give the next value (0.831). There the table's cell is kept.
    """
    kept = {}
    for key, header in (('object_iou', 'Object IoU'), ) + METRIC_COLUMNS:
        value = metrics[key] / (100 if key in PERCENT_METRICS else 1)
        shown = float(cells[header])
        if f'{value:.3f}' != cells[header] and abs(value - shown) < 6e-4:
            kept[header] = cells[header]
    return kept


def check_recorded(row: Dict[str, Any], entry: Dict[str, Any],
                   recorded: Dict[str, Any]) -> None:
    """Fail unless the entry renders every measured cell as recorded."""
    cells = recorded['cells']
    measured = [
        column for column in table_columns('.', CURVE_COLUMN in cells)
        if column[0] in cells and column[0] not in DESCRIPTIVE_COLUMNS
    ]
    for header, cell in render_cells(row_view(row, entry), measured).items():
        if cell != cells[header]:
            raise ValueError(f"{row['name']!r}: {header} would read "
                             f'{cell!r}, recorded {cells[header]!r}')


def import_recorded(rows: List[Dict[str, Any]], outputs: List[Dict[str, Any]],
                    store: ResultsStore, rev: str, root: str) -> None:
    """Store the rows recorded in the outputs' blocks (and metafiles).

    Args:
        rows (list[dict]): The rows file's rows; a row is imported from the
            recorded row of the same name.
        outputs (list[dict]): Where the tables were written (``readme``,
            ``marker``, ``metafile``), read at ``rev``.
        store (ResultsStore): Updated and saved.
        rev (str): The git revision to read.
        root (str): The repository.
    """
    short = git_output(root, 'rev-parse', '--short', rev).strip()
    for output in outputs:
        marker = output.get('marker', DEFAULT_MARKER)
        command, recorded = recorded_rows(root, rev, output['readme'], marker)
        models = recorded_models(
            root, rev, output['metafile']) if output.get('metafile') else {}
        read = f"{output['readme']} (block {marker})" + (
            f" and {output['metafile']}" if output.get('metafile') else '')
        for row in rows:
            if row['name'] not in recorded:
                continue
            found = recorded[row['name']]
            stored = store.get(row)
            entry = stored or recorded_entry(row, found, models.get(
                row['name']))
            check_recorded(row, entry, found)
            if stored is None:
                counted = '' if row['name'] in models else (
                    '; parameters counted from the config when imported '
                    '(the table shows them rounded)')
                store.put(
                    row, entry,
                    dict(
                        source='recorded by tools/benchmark_table.py before '
                        f'the results store existed; imported from {read} '
                        f'at commit {short}; checkpoints not in this '
                        f'checkout{counted}',
                        date=found['date'],
                        commit=found['commit'],
                        machine='not recorded',
                        command=command))
            print(f"{row['name']}: as recorded at commit {found['commit']}")
