"""The results store, and the README tables and metafile written from it.

``python -m benchmarks.results ROWS_FILE`` scores every row of a rows file
(:mod:`benchmarks.scoring`) whose checkpoints or masks, and data, are on
this machine, and replaces its entry in the results store (the file's
``results``) with its numbers and provenance (date, commit, machine,
command); ``--from-store`` scores nothing. Other rows are shown as stored;
a row the store lacks too is left out with a warning and named under the
table. The tables are written from the store alone, so the same command
writes the same tables on any machine. The rows file says where::

    outputs:
      - readme: configs/redo/README.md      # between <!-- NAME:start -->
        marker: benchmark-table             # and <!-- NAME:end -->
        columns: compact    # full (default), compact, or summary
        curves: true        # each run's validation best and last
        metafile: configs/redo/metafile.yaml
      - readme: README.md
        marker: readme-results
        columns: summary    # object IoU beside that of the rows of the
        beside: benchmarks/rows/benchmark_lfw_val_cpu.yaml  # same names

The metafile (mmseg's format) holds the models of every rows file beside
this one that names it, in file-name order, so it is the same whichever of
them writes it.
"""
import argparse
import datetime
import glob
import json
import os
import os.path as osp
import platform
import re
import subprocess
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import yaml

from .scoring import is_mask_row, load_entries, missing_inputs, score_row

#: The row keys that decide its numbers: a stored entry answers for every
#: row with the same values (names and notes may change).
DEFINITION_KEYS = ('config', 'cfg_options', 'checkpoint', 'select', 'weights',
                   'masks', 'gt_dir', 'ids', 'rule')
COMPACT_COLUMNS = ('Method', 'Labels used', 'Object IoU', 'Input', 'Config',
                   'Notes', 'Measured')
#: Metric columns after Object IoU (mIoU and aAcc are stored in percent,
#: as mmseg's IoUMetric gives them), and the metafile's names of them.
METRIC_COLUMNS = (('mIoU', 'mIoU'), ('aAcc', 'Pixel acc.'),
                  ('redo_iou_best_of_2', 'Best-of-2 IoU (ref.)'),
                  ('redo_acc_best_of_2', 'Best-of-2 acc. (ref.)'))
PERCENT_METRICS = ('mIoU', 'aAcc')
METAFILE_METRICS = (('mIoU', 'mIoU'), ('aAcc', 'aAcc'),
                    ('object_iou', 'Object IoU'),
                    ('redo_iou_best_of_2', 'Best-of-2 IoU'),
                    ('redo_acc_best_of_2', 'Best-of-2 Acc'),
                    ('mean_image_iou', 'Mean Image IoU'))
Row = Dict[str, Any]
Column = Tuple[str, Callable[[Row], str]]


def definition(row: Row) -> Row:
    """The keys of a row that decide its numbers (those it has)."""
    return {k: row[k] for k in DEFINITION_KEYS if row.get(k) is not None}


def _git(root: str, *args: str) -> Optional[str]:
    """A read-only git command's output in ``root``; None when it fails."""
    try:
        return subprocess.run(
            ['git', '--no-optional-locks', '-C', root, *args],
            capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def provenance(command: str, root: str) -> Row:
    """Where a row scored now comes from: date, commit (and whether the
    code had uncommitted changes), machine and command."""
    cpu = platform.processor() or platform.machine()
    if osp.isfile('/proc/cpuinfo'):  # Linux: processor() is often empty
        with open('/proc/cpuinfo') as f:
            cpu = next((ln.split(':', 1)[1].strip() for ln in f
                        if ln.startswith('model name')), cpu)
    machine = (f'{cpu}, {os.cpu_count()} cores, {platform.system()} '
               f'{platform.machine()}')
    if torch.cuda.is_available():
        machine += f', {torch.cuda.get_device_name(0)}'
    changes = _git(root, 'status', '--porcelain', '--untracked-files=no', '--',
                   'mmseg_redo', 'benchmarks', 'configs/*.py')
    return dict(
        source='scored by python -m benchmarks.results',
        date=datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
        commit=_git(root, 'rev-parse', '--short', 'HEAD'),
        uncommitted_changes=bool(changes),
        machine=machine,
        command=command)


class ResultsStore:
    """The stored rows of one dataset and split, in a JSON file.

    Each entry holds the row's ``definition``, ``name``, ``metrics``,
    ``runs``, ``params``, ``train_time``, ``input``, ``provenance``, and for
    rows imported from tables older than the store, ``table_cells``: cells
    those tables showed that rounding the stored numbers would change.

    Args:
        path (str): The JSON file; read when it exists.
        dataset (str): The dataset's name, checked against the file's.
        split (str): The split, checked against the file's.
    """

    def __init__(self, path: str, dataset: str, split: str) -> None:
        self.path = path
        self.data: Row = dict(dataset=dataset, split=split, rows=[])
        if osp.isfile(path):
            with open(path) as f:
                self.data = json.load(f)
            stored = (self.data['dataset'], self.data['split'])
            if stored != (dataset, split):
                raise ValueError(f'{path} stores {stored}, not '
                                 f'{(dataset, split)}')

    def get(self, row: Row) -> Optional[Row]:
        """The entry of a row with the same definition, or None."""
        wanted = definition(row)
        return next(
            (e for e in self.data['rows'] if e['definition'] == wanted), None)

    def put(self, row: Row, measured: Row, source: Row) -> Row:
        """Store a row's scores (replacing its entry) and save the file."""
        # Through JSON: the entry is what a reader of the file gets.
        entry = json.loads(json.dumps(dict(
            definition=definition(row), name=row['name'], **measured,
            provenance=source)))
        rows, old = self.data['rows'], self.get(row)
        if old is None:
            rows.append(entry)
        else:
            # Scoring again does not change what a photo costs.
            if 'inference_time' in old:
                entry['inference_time'] = old['inference_time']
            rows[rows.index(old)] = entry
        self._save()
        return entry

    def set_inference_time(self, row: Row, timing: Row) -> None:
        """Store a stored row's ``inference time (ms/im)`` (mmseg's
        metafile fields, from :mod:`benchmarks.inference_time`)."""
        entry = self.get(row)
        if entry is None:
            raise KeyError(f"{row['name']!r} is not in {self.path}")
        entry['inference_time'] = json.loads(json.dumps(timing))
        self._save()

    def _save(self) -> None:
        os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
        with open(self.path, 'w') as f:
            json.dump(self.data, f, indent=2, ensure_ascii=False)
            f.write('\n')


def open_store(data: Row) -> ResultsStore:
    """The store of a rows file (as :func:`load_entries` reads it)."""
    return ResultsStore(data['results'], data['dataset'], data['split'])


def row_view(row: Row, entry: Row) -> Row:
    """A row's descriptive keys joined with its stored numbers (the row
    names it: a rescored row may be renamed)."""
    return dict(row, **{k: v for k, v in entry.items() if k != 'name'})


def stored_views(data: Row) -> List[Row]:
    """The views of a rows file's rows that its store has."""
    store = open_store(data)
    return [row_view(r, e) for r in data['rows'] if (e := store.get(r))]


def _fraction(metrics: Dict[str, float], key: str) -> str:
    value = metrics.get(key)
    if value is None or value != value:  # absent or NaN: not measured
        return 'n/a'
    return f'{value / 100 if key in PERCENT_METRICS else value:.3f}'


def _object_iou(view: Row) -> str:
    """The mean object IoU, and each run's when there are several."""
    cell = _fraction(view['metrics'], 'object_iou')
    if len(view['runs']) > 1:
        cell += ' (' + ', '.join(
            _fraction(r['metrics'], 'object_iou') for r in view['runs']) + ')'
    return cell


def _curves(view: Row) -> str:
    curves = [r.get('val_object_iou') for r in view['runs']]
    return '; '.join(f"{c['best']:.3f} ({c['best_iter']}) / {c['last']:.3f}"
                     for c in curves if c) or 'n/a'


def _params(view: Row) -> str:
    """``'26.0 k / 416.5 k'``: parameters to segment and in all."""
    if view['params'] is None:
        return 'n/a'
    return ' / '.join(
        '0' if n == 0 else f'{n / 1e3:.1f} k' if n < 1e6 else f'{n / 1e6:.2f} M'
        for n in (view['params']['inference'], view['params']['total']))


def _ms_per_image(view: Row) -> str:
    """mmseg's inference time (ms/im), as measured; 'n/a' when not."""
    timing = view.get('inference_time')
    return f"{timing['value']:.0f}" if timing else 'n/a'


#: The inference-time column, shown when a row of the table was timed.
TIME_COLUMN = ('Time (ms/im, 2-core CPU)', _ms_per_image)


def _notes(view: Row) -> str:
    notes = [str(x) for x in (view.get('device'), view.get('notes')) if x]
    if is_mask_row(view):
        notes.append(
            f"scored at the photo's size ({view['runs'][0]['images']} "
            'images; mean per-image IoU '
            f"{_fraction(view['metrics'], 'mean_image_iou')})")
    return '; '.join(notes)


def measured(view: Row) -> str:
    """``'2026-12-02, commit abc1234'`` (``+``: uncommitted changes)."""
    source = view['provenance']
    changed = '+' if source.get('uncommitted_changes') else ''
    return (f"{source['date']}, commit {source.get('commit') or 'unknown'}"
            f'{changed}')


def _link(path: str, link_dir: str, text: Optional[str] = None) -> str:
    """A markdown link to ``path`` from a README in ``link_dir``."""
    return (f'[{text or osp.basename(path)}]'
            f'({osp.relpath(osp.abspath(path), link_dir)})')


def table_columns(link_dir: str, curves=False, compact=False,
                  timed=False) -> List[Column]:
    """The columns (header, cell function) of a full or compact table
    (``timed``: with the inference time after the object IoU)."""
    columns: List[Column] = [
        ('Method', lambda v: v['name']),
        ('Labels used', lambda v: str(v.get('labels') or 'none')),
        ('Object IoU', _object_iou),
        *((header, lambda v, k=key: _fraction(v['metrics'], k))
          for key, header in METRIC_COLUMNS),
        ('Params (inference / total)', _params),
        ('Training time', lambda v: v['train_time']),
        ('Input', lambda v: v['input']),
        ('Config', lambda v: _link(v['config'], link_dir)
         if v.get('config') else ''),
        ('Notes', _notes),
        ('Measured', measured),
    ]
    if compact:
        columns = [c for c in columns if c[0] in COMPACT_COLUMNS]
    if timed:
        columns.insert(3, TIME_COLUMN)
    if curves:
        columns.append(('Val object IoU: best (iter) / last', _curves))
    return columns


def markdown_table(views: Sequence[Row], columns: Sequence[Column]) -> str:
    """The views as a markdown table (a line each, a final newline).

    A stored entry's ``table_cells`` are shown instead of the cells its
    numbers would give (see :class:`ResultsStore`).
    """
    lines = ['| ' + ' | '.join(h for h, _ in columns) + ' |',
             '|' + '|'.join('---' for _ in columns) + '|']
    for view in views:
        kept = view.get('table_cells', {})
        # A '|' inside a cell (a name, a note) would split the cell.
        lines.append('| ' + ' | '.join(
            (kept.get(header) or cell(view)).replace('|', '/')
            for header, cell in columns) + ' |')
    return '\n'.join(lines) + '\n'


def table_block(views: List[Row], left_out: List[str], data: Row,
                command: str, out: Row) -> str:
    """A full or compact table, with what it shows and how it was written
    above it, and the rows left out under it."""
    link_dir = osp.dirname(osp.abspath(out['readme']))
    compact = out.get('columns', 'full') == 'compact'
    text = (f"{data['dataset']}, `{data['split']}` split; written by "
            f"`{command}` from the results store "
            f"{_link(data['results'], link_dir)}, which keeps each row's "
            'date, commit, machine, checkpoints and command (do not edit by '
            "hand). Object IoU: dataset-level IoU of the object class with "
            "the model's own mask-to-class assignment")
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
    if any(map(is_mask_row, views)):
        text += (" Rows scored at the photo's size: masks written by "
                 '`tools/segment_folder.py`, compared with the true masks at '
                 "each photo's own size" +
                 ('.' if compact else '; the other metrics are not measured '
                  'there (n/a).'))
    timed = any(v.get('inference_time') for v in views)
    if timed:
        text += (' Time: mmseg\'s inference time (ms/im), the median over '
                 'photos of the collection of `inference_model` on one '
                 'photo (file to mask at its size, batch size 1, FP32) on '
                 "the machine the store names, by `python -m "
                 "benchmarks.inference_time`.")
    table = markdown_table(
        views, table_columns(link_dir, out.get('curves', False), compact,
                             timed))
    if left_out:
        table += ('\nLeft out (not scored when the table was written, and no '
                  'stored entry): ' + '; '.join(left_out) + '.\n')
    return f'{text}\n\n{table}'


def summary_block(views: List[Row], data: Row, command: str,
                  out: Row) -> str:
    """Each row's object IoU beside that of the row of the same name in
    the rows file ``out['beside']`` (from its store)."""
    link_dir = osp.dirname(osp.abspath(out['readme']))
    other = load_entries(out['beside'])
    others = {v['name']: v for v in stored_views(other)}
    headers = [f"{d['dataset']} {d['split']}" for d in (data, other)]
    columns = [
        ('Method', lambda v: v['name']),
        (headers[0], _object_iou),
        (headers[1], lambda v: _object_iou(others[v['name']])
         if v['name'] in others else 'n/a'),
        ('Config', lambda v: _link(v['config'], link_dir)
         if v.get('config') else ''),
    ]
    if any(v.get('inference_time') for v in views):
        columns.insert(3, (f'{TIME_COLUMN[0]}, {headers[0]}', TIME_COLUMN[1]))
    table = markdown_table(views, columns)
    stores = ' and '.join(
        _link(d['results'], link_dir) for d in (data, other))
    return (f'Object IoU of masks written at the photo\'s size by '
            f'`tools/segment_folder.py`, {headers[0]} and {headers[1]}; '
            f'written by `{command}` from the results stores {stores}, which '
            "keep each row's date, commit, machine and command (do not edit "
            'by hand). Object IoU: dataset-level IoU of the object class; '
            f"for several seeds, their mean and each seed's.\n\n{table}")


def write_block(readme: str, marker: str, block: str) -> None:
    """Put ``block`` between the README's ``<!-- marker:start/end -->``
    comments; a README without them gets them appended."""
    start, end = f'<!-- {marker}:start -->', f'<!-- {marker}:end -->'
    block = f'{start}\n{block}{end}'
    text = ''
    if osp.isfile(readme):
        with open(readme) as f:
            text = f.read()
    if start in text and end in text:
        text = re.sub(re.escape(start) + '.*?' + re.escape(end),
                      lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip('\n') + ('\n\n' if text else '') + block + '\n'
    with open(readme, 'w') as f:
        f.write(text)


def _model(view: Row, data: Row, root: str) -> Row:
    """A view as an mmseg metafile model (metrics in percent)."""
    m = view['metrics']
    metadata = {
        'Training Data': data['dataset'],
        'Labels Used': str(view.get('labels') or 'none'),
        'Training Time': view['train_time'],
        'Training Resources': str(view.get('device') or 'unknown'),
        'Crop Size': view['input'],
    }
    if view['params'] is not None:
        metadata['Parameters (inference)'] = view['params']['inference']
        metadata['Parameters (total)'] = view['params']['total']
    timing = view.get('inference_time')
    if timing:
        metadata['inference time (ms/im)'] = [{
            k: timing[k] for k in ('value', 'hardware', 'backend',
                                   'batch size', 'mode', 'resolution')}]
    metadata['Measured'] = measured(view)
    return {
        'Name': view['name'].strip('*'),
        'In Collection': data['collection'],
        'Results': {
            'Task': 'Semantic Segmentation',
            'Dataset': data['dataset'],
            'Metrics': {
                name: round(m[k] if k in PERCENT_METRICS else 100 * m[k], 2)
                for k, name in METAFILE_METRICS
                if k in m and m[k] == m[k]  # NaN: not measured
            }
        },
        'Config': osp.relpath(osp.abspath(view['config']), root)
        if view.get('config') else None,
        'Metadata': metadata,
        'Weights': view['runs'][0].get('checkpoint'),
    }


def write_metafile(path: str, rows_dir: str, root: str) -> None:
    """Write the metafile from the stores of the rows files in ``rows_dir``
    that name it. A name that repeats gets its dataset and split appended.
    """
    files, models = [], []
    for rows_file in sorted(glob.glob(osp.join(rows_dir, '*.yaml'))):
        data = load_entries(rows_file)
        if any(osp.abspath(o.get('metafile') or '') == osp.abspath(path)
               for o in data.get('outputs') or []):
            files.append(data)
            models += [(_model(v, data, root), data['split'])
                       for v in stored_views(data)]
    names = [m['Name'] for m, _ in models]
    for m, split in models:
        if names.count(m['Name']) > 1:
            m['Name'] += f" ({m['Results']['Dataset']} {split})"
    collection = {
        'Name': files[0]['collection'],
        'License': 'MIT',
        'Metadata': {
            'Training Data': list(dict.fromkeys(d['dataset'] for d in files))
        },
        'Paper': {
            'Title': 'Unsupervised Object Segmentation by Redrawing',
            'URL': 'https://arxiv.org/abs/1905.13539'
        },
        'README': osp.relpath(
            osp.join(osp.dirname(osp.abspath(path)), 'README.md'), root),
        'Frameworks': ['PyTorch'],
    }
    with open(path, 'w') as f:
        yaml.safe_dump(dict(Collections=[collection],
                            Models=[m for m, _ in models]), f,
                       sort_keys=False)


def write_tables(entries: str, from_store: bool = False,
                 root: str = '.') -> List[Row]:
    """Score what can be scored here, update the store, write the outputs.

    Args:
        entries (str): The rows file.
        from_store (bool): Score nothing; render from the store.
        root (str): The repository: its commit goes into the provenance and
            the metafile's paths are relative to it.

    Returns:
        list[dict]: The rows shown (each row with its stored numbers).
    """
    data = load_entries(entries)
    store = open_store(data)
    command = f'python -m benchmarks.results {entries}'
    views, left_out, source = [], [], None
    for row in data['rows']:
        missing = ['not scored (from the store only)'] if from_store else \
            missing_inputs(row, data['split'])
        if missing:
            entry = store.get(row)
            if entry is None:
                warnings.warn(f"left out {row['name']!r}: "
                              f"{'; '.join(missing)}; no entry in {store.path}")
                left_out.append(row['name'])
                continue
        else:
            source = source or provenance(command, root)
            score = score_row(row, data['split'])
            print(f"{row['name']}: " + ', '.join(
                f'{k}={v:.4f}' for k, v in score['metrics'].items()))
            entry = store.put(row, score, source)
        views.append(row_view(row, entry))
    for out in data.get('outputs') or []:
        columns = out.get('columns', 'full')
        if columns == 'summary':
            block = summary_block(views, data, command, out)
        elif columns in ('full', 'compact'):
            block = table_block(views, left_out, data, command, out)
        else:
            raise ValueError("columns must be 'full', 'compact' or "
                             f"'summary', got {columns!r}")
        write_block(out['readme'], out['marker'], block)
        print(block)
        if out.get('metafile'):
            write_metafile(out['metafile'], osp.dirname(entries), root)
    return views


def main(argv: Optional[List[str]] = None) -> List[Row]:
    """Score what can be scored, update the store, write the tables."""
    parser = argparse.ArgumentParser(
        description='Score the rows of a rows file and write its tables')
    parser.add_argument('entries', help='the rows file (YAML)')
    parser.add_argument(
        '--from-store', action='store_true',
        help='score nothing: write the tables from the results store')
    args = parser.parse_args(argv)
    return write_tables(args.entries, args.from_store,
                        root=osp.dirname(osp.dirname(osp.abspath(__file__))))


if __name__ == '__main__':
    main()
