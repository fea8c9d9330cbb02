"""Score what can be scored here, keep the store, write every table.

:func:`write_benchmark_table` goes through the rows of a rows file
(:mod:`.rows`): a row whose checkpoints (or masks, :mod:`.mask_rows`) and
data are on this machine is scored and its entry in the results store
(:mod:`.store`) replaced; any other row is shown as stored, and a row the
store does not have either is left out with a warning (and named under the
table). The tables and the metafile are then written from the stored
entries (:mod:`.table`), so the same command writes them on any machine
and never shows a number that was not measured.

Where the tables go is listed in the rows file, or given as arguments
(one README block, optionally a metafile)::

    results: docs/results/flowers17_test.json   # default: from the dataset
    outputs:
      - readme: configs/redo/README.md
        marker: benchmark-table
        metafile: configs/redo/metafile.yaml
      - readme: README.md
        marker: results-table
        columns: compact      # method, labels, object IoU, input, notes
      - readme: configs/redo/README.md
        marker: ablation-table
        curves: true          # each run's validation best and last
"""
import json
import os.path as osp
import warnings
from typing import Any, Dict, List, Optional, Tuple

import yaml

from .mask_rows import missing_mask_inputs, score_mask_row
from .recorded import import_recorded
from .rows import is_mask_row, load_entries, missing_inputs, score_row
from .store import ResultsStore, default_results_path, provenance
from .table import (DEFAULT_MARKER, left_out_note, markdown_table, metafile,
                    row_view, table_preamble, write_readme_table)

#: The README and metafile of the command line's defaults.
DEFAULT_README = 'configs/redo/README.md'
DEFAULT_METAFILE = 'configs/redo/metafile.yaml'


def measure_rows(
    rows: List[Dict[str, Any]],
    store: ResultsStore,
    split: str,
    command: str,
    root: str = '.',
    from_store: bool = False,
    skip_missing: bool = False,
    work_dir: Optional[str] = None,
    cfg_options: Optional[dict] = None
) -> Tuple[List[Dict[str, Any]], List[str]]:
    """Score the rows that can be scored here; take the others from the store.

    Args:
        rows (list[dict]): The rows file's rows.
        store (ResultsStore): Read, and updated with every scored row.
        split (str): ``'test'`` or ``'val'``.
        command (str): The command, for the provenance of scored rows.
        root (str): The repository whose commit is recorded.
        from_store (bool): Score nothing: show every row as stored.
        skip_missing (bool): Leave out the rows that cannot be scored here
            even when the store has them.
        work_dir (str, optional): Where the runners log (``row_<i>``).
        cfg_options (dict, optional): Overrides applied to every row's
            config.

    Returns:
        tuple[list[dict], list[str]]: The views of the rows shown
        (:func:`.table.row_view`), and the names of the rows left out.
    """
    views, left_out, source = [], [], None
    for i, row in enumerate(rows):
        if from_store:
            missing = ['not scored (from the store only)']
        elif is_mask_row(row):
            missing = missing_mask_inputs(row)
        else:
            missing = missing_inputs(row, split, cfg_options)
        if missing:
            entry = None if skip_missing else store.get(row)
            if entry is None:
                warnings.warn(
                    f"left out {row['name']!r}: {'; '.join(missing)}; " +
                    ('stored entries not used (skip_missing)'
                     if skip_missing else f'no entry in {store.path}'))
                left_out.append(row['name'])
                continue
        else:
            source = source or provenance(command, root, cfg_options)
            if is_mask_row(row):
                measured = score_mask_row(row)
            else:
                measured = score_row(
                    row, split, cfg_options,
                    osp.join(work_dir, f'row_{i}') if work_dir else None)
            entry = store.put(row, measured, source)
            print(f"{row['name']}: " +
                  ', '.join(f'{k}={v:.4f}'
                            for k, v in measured['metrics'].items()))
        views.append(row_view(row, entry))
    return views, left_out


def write_output(views: List[Dict[str, Any]], left_out: List[str],
                 output: Dict[str, Any], data: Dict[str, Any], split: str,
                 command: str, store_path: str, root: str) -> str:
    """Write one README block (and its metafile) from the views.

    Args:
        views (list[dict]): The rows shown.
        left_out (list[str]): The rows left out, named under the table.
        output (dict): ``readme``, and optionally ``marker``, ``metafile``,
            ``columns`` (``'full'`` or ``'compact'``) and ``curves``.
        data (dict): The rows file (``dataset``, ``collection``).
        split (str): The split.
        command (str): The command that writes it again.
        store_path (str): The results store, linked from the preamble.
        root (str): The repository, which the metafile's paths are
            relative to.

    Returns:
        str: The table written.
    """
    if output.get('columns', 'full') not in ('full', 'compact'):
        raise ValueError("columns must be 'full' or 'compact', got "
                         f"{output['columns']!r}")
    compact = output.get('columns') == 'compact'
    readme, dataset = output['readme'], data.get('dataset', 'Flowers-17')
    link_dir = osp.dirname(osp.abspath(readme))
    table = markdown_table(views, output.get('curves', False), link_dir,
                           compact)
    if left_out:
        table += '\n' + left_out_note(left_out)
    preamble = table_preamble(dataset, split, command,
                              osp.relpath(osp.abspath(store_path), link_dir),
                              compact, any(is_mask_row(v) for v in views))
    write_readme_table(readme, table, preamble,
                       output.get('marker', DEFAULT_MARKER))
    if output.get('metafile'):
        with open(output['metafile'], 'w') as f:
            yaml.safe_dump(
                metafile(views, dataset, data.get('collection', 'ReDO'),
                         readme, root),
                f,
                sort_keys=False)
    return table


def rewrite_command(entries: str, split: Optional[str],
                    output: Optional[Dict[str, Any]], skip_missing: bool,
                    results: Optional[str]) -> str:
    """The command that writes the tables again, for their preamble.

    Args:
        entries (str): The rows file.
        split (str, optional): A split other than the rows file's.
        output (dict, optional): The output given as arguments; None when
            the rows file lists them.
        skip_missing (bool): ``--skip-missing`` was given.
        results (str, optional): A store given as an argument.
    """
    flags = [f'--split {split}'] if split else []
    if output:
        flags += [
            flag
            for flag, on in ((f"--readme {output['readme']}",
                              output['readme'] != DEFAULT_README),
                             (f"--marker {output['marker']}",
                              output['marker'] != DEFAULT_MARKER),
                             (f"--metafile {output['metafile'] or repr('')}",
                              output['metafile'] != DEFAULT_METAFILE),
                             ('--columns compact',
                              output['columns'] == 'compact'),
                             ('--curves', output['curves'])) if on
        ]
    if results:
        flags.append(f'--results {results}')
    if skip_missing:
        flags.append('--skip-missing')
    return ' '.join(['python tools/benchmark_table.py', entries, *flags])


def write_benchmark_table(
        entries: str,
        readme: Optional[str] = None,
        split: Optional[str] = None,
        marker: Optional[str] = None,
        metafile_path: Optional[str] = None,
        json_out: Optional[str] = None,
        curves: bool = False,
        skip_missing: bool = False,
        work_dir: Optional[str] = None,
        cfg_options: Optional[dict] = None,
        root: str = '.',
        columns: str = 'full',
        results: Optional[str] = None,
        from_store: bool = False,
        import_rev: Optional[str] = None) -> List[Dict[str, Any]]:
    """Score what can be scored, update the store, write the tables.

    Each scored row's scores are printed as it is done, and every table at
    the end.

    Args:
        entries (str): The rows file (YAML or JSON, see :mod:`.rows`).
        readme (str, optional): README whose block between ``marker``'s
            comments is replaced (see :func:`.table.write_readme_table`).
            Defaults to None: the rows file's ``outputs``.
        split (str, optional): ``'test'`` or ``'val'``: which dataloader
            and evaluator of each config to use. Defaults to the rows
            file's ``split``, else ``'test'``.
        marker (str, optional): The README block's name (with ``readme``).
            Defaults to ``'benchmark-table'``.
        metafile_path (str, optional): mmseg-style metafile to write (with
            ``readme``). Defaults to None: none.
        json_out (str, optional): Also dump every row shown as JSON there.
        curves (bool): Add each run's best and last validation object IoU
            (with ``readme``). Defaults to False.
        skip_missing (bool): Leave out rows that cannot be scored here,
            even when the store has them. Defaults to False.
        work_dir (str, optional): Where the runners log (a ``row_<i>``
            folder each). Defaults to temporary folders.
        cfg_options (dict, optional): Overrides applied to every row's
            config.
        root (str): The repository: the metafile's paths are relative to
            it, and its commit goes into the provenance. Defaults to the
            working directory.
        columns (str): ``'full'`` or ``'compact'`` (with ``readme``).
        results (str, optional): The results store. Defaults to the rows
            file's ``results`` (for its own split), else
            :func:`.store.default_results_path`.
        from_store (bool): Score nothing; write the tables from the store.
        import_rev (str, optional): First seed the store with the tables
            as git holds them at this revision (:mod:`.recorded`); nothing
            is scored then.

    Returns:
        list[dict]: The rows shown (:func:`.table.row_view`).
    """
    data = load_entries(entries)
    dataset = data.get('dataset', 'Flowers-17')
    own_split = data.get('split', 'test')
    output = dict(
        readme=readme,
        marker=marker or DEFAULT_MARKER,
        metafile=metafile_path,
        columns=columns,
        curves=curves) if readme else None
    outputs = [output] if output else data.get('outputs')
    if not outputs:
        raise ValueError(f'{entries} lists no outputs: give a README')
    split = split or own_split
    # The rows file's store holds its own split.
    own_store = data.get('results') if split == own_split else None
    store = ResultsStore(
        results or own_store or default_results_path(dataset, split), dataset,
        split)
    command = rewrite_command(entries, split if split != own_split else None,
                              output, skip_missing, results)
    if import_rev:
        import_recorded(data['rows'], outputs, store, import_rev, root)
    views, left_out = measure_rows(data['rows'], store, split, command, root,
                                   from_store or bool(import_rev),
                                   skip_missing, work_dir, cfg_options)
    for out in outputs:
        print(
            write_output(views, left_out, out, data, split, command,
                         store.path, root))
    if json_out:
        with open(json_out, 'w') as f:
            json.dump(views, f, indent=2, default=str)
    return views
