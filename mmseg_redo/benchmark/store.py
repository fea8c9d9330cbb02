"""The results store: every scored row's numbers and where they come from.

One JSON file per dataset and split (``docs/results/flowers17_test.json``),
committed with the code, so that the tables can be written again on any
machine: a row whose checkpoints (or masks) are here is scored and its
entry replaced; a row whose checkpoints are not is shown as stored. An
entry is found by the row's *definition*, the keys of the row that decide
its numbers (:data:`DEFINITION_KEYS`: config, overrides, checkpoints,
masks...), not by its name, so two tables listing the same row share its
entry. An entry holds::

    definition   the row's config, cfg_options, checkpoint globs (as given)
                 or masks folders, gt_dir, ids, rule
    name         the row's name when it was scored
    metrics      the mean over runs (mIoU and aAcc in percent, as mmseg's
                 IoUMetric gives them; the others fractions)
    runs         each run's checkpoint (or masks folder), seed, metrics
                 (and logged training seconds, validation best and last)
    params, train_time, input
    table_cells  (imported rows only) cells the old table showed that
                 rounding the stored numbers again would change
    provenance   date, commit (+ whether the code had uncommitted changes),
                 machine, command; or, for rows imported from tables
                 written before the store existed, where they were read
"""
import datetime
import json
import os
import os.path as osp
import platform
import re
import subprocess
from typing import Any, Dict, List, Optional

import torch

#: The row keys that decide its numbers: an entry answers for a row when
#: these are equal (names and notes may change).
DEFINITION_KEYS = ('config', 'cfg_options', 'checkpoint', 'select', 'weights',
                   'masks', 'gt_dir', 'ids', 'rule')
#: What a scored entry's provenance says produced it.
SCORED_SOURCE = 'scored by tools/benchmark_table.py'


def definition(row: Dict[str, Any]) -> Dict[str, Any]:
    """The keys of a row that decide its numbers (those it has)."""
    return {
        key: row[key]
        for key in DEFINITION_KEYS if row.get(key) is not None
    }


def default_results_path(dataset: str, split: str) -> str:
    """``docs/results/<dataset>_<split>.json``, e.g. ``flowers17_test``."""
    slug = re.sub('[^a-z0-9]+', '', dataset.lower())
    return osp.join('docs', 'results', f'{slug}_{split}.json')


def git_output(root: str, *args: str) -> Optional[str]:
    """A git command's output in ``root``; None when it fails.

    Read-only: ``--no-optional-locks`` keeps ``git status`` from writing
    the index.
    """
    try:
        return subprocess.run(
            ['git', '--no-optional-locks', '-C', root, *args],
            capture_output=True,
            text=True,
            check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def machine() -> str:
    """The CPU model, its core count, the OS and a GPU if there is one."""
    cpu = platform.processor() or platform.machine()
    if osp.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            models = [
                line.split(':', 1)[1].strip() for line in f
                if line.startswith('model name')
            ]
        cpu = models[0] if models else cpu
    text = (f'{cpu}, {os.cpu_count()} cores, {platform.system()} '
            f'{platform.machine()}')
    if torch.cuda.is_available():
        text += f', {torch.cuda.get_device_name(0)}'
    return text


def provenance(command: str,
               root: str,
               cfg_options: Optional[dict] = None) -> Dict[str, Any]:
    """Where a row scored now comes from: date, code, machine, command.

    Args:
        command (str): The command that scores it.
        root (str): The repository whose commit is recorded.
        cfg_options (dict, optional): Overrides the command applied to
            every row.

    Returns:
        dict: ``source``, ``date`` (UTC), ``commit`` (short hash, None
        outside git), ``uncommitted_changes`` (of the package or the
        configs), ``machine``, ``command`` and ``cfg_options``.
    """
    commit = git_output(root, 'rev-parse', '--short', 'HEAD')
    changes = git_output(root, 'status', '--porcelain', '--untracked-files=no',
                         '--', 'mmseg_redo', 'configs/*.py')
    return dict(
        source=SCORED_SOURCE,
        date=datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
        commit=commit.strip() if commit else None,
        uncommitted_changes=bool(changes),
        machine=machine(),
        command=command,
        cfg_options=cfg_options or None)


class ResultsStore:
    """The stored rows of one dataset and split, in a JSON file.

    Args:
        path (str): The JSON file; read when it exists.
        dataset (str): The dataset's name, checked against the file's.
        split (str): The split, checked against the file's.
    """

    def __init__(self, path: str, dataset: str, split: str) -> None:
        self.path = path
        self.data: Dict[str, Any] = dict(dataset=dataset, split=split, rows=[])
        if osp.isfile(path):
            with open(path) as f:
                self.data = json.load(f)
            stored = (self.data['dataset'], self.data['split'])
            if stored != (dataset, split):
                raise ValueError(f'{path} stores {stored}, not '
                                 f'{(dataset, split)}')

    @property
    def entries(self) -> List[Dict[str, Any]]:
        """Every stored entry, in the order they were first stored."""
        return self.data['rows']

    def get(self, row: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """The entry of a row with the same definition, or None."""
        wanted = definition(row)
        return next((e for e in self.entries if e['definition'] == wanted),
                    None)

    def put(self, row: Dict[str, Any], measured: Dict[str, Any],
            source: Dict[str, Any]) -> Dict[str, Any]:
        """Store a row's numbers (replacing its entry) and save the file.

        Args:
            row (dict): The entry of the rows file.
            measured (dict): :func:`.rows.score_row`'s (or
                :func:`.mask_rows.score_mask_row`'s) output.
            source (dict): The provenance (:func:`provenance`).

        Returns:
            dict: The stored entry.
        """
        entry = dict(
            definition=definition(row),
            name=row['name'],
            **measured,
            provenance=source)
        # Through JSON, so that the entry is what a reader of the file gets.
        entry = json.loads(json.dumps(entry))
        old = self.get(row)
        if old is None:
            self.entries.append(entry)
        else:
            self.entries[self.entries.index(old)] = entry
        self.save()
        return entry

    def save(self) -> None:
        """Write the file (indented, one key order, a final newline)."""
        os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
        with open(self.path, 'w') as f:
            json.dump(self.data, f, indent=2, ensure_ascii=False)
            f.write('\n')
