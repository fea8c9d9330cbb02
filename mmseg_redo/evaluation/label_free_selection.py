"""Which label-free score picks checkpoints the way val masks do.

For every checkpoint of a run (``<work_dir>/iter_*.pth``, in iteration
order), the object region is assigned as a run without labels would
(``MaskAssignmentHook``, the border rule by default), the validation split
is scored with every candidate of :class:`LabelFreeMaskScore` (computed
from the predictions only) and with the true object IoU (``ReDOMetric``,
dataset level, with that assignment), and the test split (the config's
``test_dataloader``) with the true object IoU. Where the label rule picks
another region, val and test are scored with that one too (the labelled
pipeline's ``*_labels`` columns). The stability candidate compares each
checkpoint with the previous one, as it compares consecutive validations
during training.

Per selector (:data:`SELECTORS`), :func:`summarise` gives the checkpoint it
keeps (first maximum, as ``CheckpointHook(save_best=..., rule='greater')``
does), that checkpoint's test object IoU, its gap to the test object IoU
of the checkpoint that the val masks pick with the same assignment
(``val_iou``), its gap to the labelled pipeline (label assignment and
selection, ``val_iou_labels``), and the rank correlation (Spearman) of the
selector's score with the val object IoU over the checkpoints. ``last``
(no selection) is a baseline. :func:`stop_summary` does the same as if the
run had stopped at each of its checkpoints (a time budget, a crash).
"""
import glob
import json
import os.path as osp
import re
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from scipy.stats import spearmanr

from mmseg.registry import MODELS
from ..engine.hooks import MaskAssignmentHook
from .label_free_metric import (BASIC_CANDIDATES, CANDIDATES,
                                combine_candidates)

#: Selectors compared: name -> (score it maximises, None = the last
#: checkpoint; test IoU column it yields).
SELECTORS: Dict[str, Tuple[Optional[str], str]] = {
    f'lf_{c}': (f'lf_{c}', 'test_iou')
    for c in CANDIDATES
}
SELECTORS.update(
    last=(None, 'test_iou'),
    val_iou=('val_iou', 'test_iou'),
    val_iou_labels=('val_iou_labels', 'test_iou_labels'))


def find_checkpoints(work_dir: str) -> List[Tuple[int, str]]:
    """``(iteration, path)`` of every ``iter_*.pth`` of a run, in order."""
    found = []
    for path in glob.glob(osp.join(work_dir, 'iter_*.pth')):
        match = re.fullmatch(r'iter_(\d+)\.pth', osp.basename(path))
        if match:
            found.append((int(match.group(1)), path))
    if len(found) < 2:
        raise FileNotFoundError(
            f'{work_dir} holds {len(found)} iter_*.pth checkpoint(s): '
            'train with default_hooks.checkpoint.max_keep_ckpts=-1 to keep '
            'them all')
    return sorted(found)


def find_config(work_dir: str) -> str:
    """The config mmengine dumped into the run's work dir."""
    configs = glob.glob(osp.join(work_dir, '*.py'))
    if len(configs) != 1:
        raise FileNotFoundError(
            f'expected one dumped config in {work_dir}, found {configs}; '
            'pass --config')
    return configs[0]


def cached_batches(dataloader_cfg: dict) -> Tuple[list, int]:
    """Every batch of a dataloader, decoded once, and the sample count."""
    cfg = dict(dataloader_cfg, num_workers=0, persistent_workers=False)
    batches = list(Runner.build_dataloader(cfg))
    return batches, sum(len(b['data_samples']) for b in batches)


def score_split(model, batches: Sequence[dict], size: int,
                evaluator: Evaluator) -> Dict[str, float]:
    """Predict every batch and reduce ``evaluator``'s metrics."""
    with torch.no_grad():
        for batch in batches:
            evaluator.process(model.test_step(batch), batch)
    return evaluator.evaluate(size)


class RunScorer:
    """Scores checkpoints of one config on its cached val and test splits.

    Args:
        cfg (Config): The run's config.
        rule (str): Object assignment, ``'border'`` or ``'labels'``.
    """

    def __init__(self, cfg: Config, rule: str = 'border') -> None:
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        self.model = MODELS.build(cfg.model).eval()
        self.val = cached_batches(cfg.val_dataloader)
        self.test = cached_batches(cfg.test_dataloader)
        # One label-free metric for the whole run: stability compares each
        # checkpoint's masks with the previous checkpoint's.
        self.val_evaluator = Evaluator(
            [dict(type='ReDOMetric'),
             dict(type='LabelFreeMaskScore')])
        self.iou_evaluator = Evaluator([dict(type='ReDOMetric')])
        self.hook = MaskAssignmentHook(rule=rule)

    def score(self, checkpoint: str) -> dict:
        """Assign the object region, then score val and test.

        Returns:
            dict: ``label_choice``, ``border_choice``, ``object_index``,
            every ``lf_*`` candidate, ``val_iou`` and ``test_iou`` (with
            the rule's region), ``val_iou_labels`` and ``test_iou_labels``
            (with the label rule's region).
        """
        load_checkpoint(
            self.model, checkpoint, map_location='cpu', strict=True)
        choices = self.hook.assign(self.model, self.val[0])['choices']
        row = dict(
            label_choice=choices['labels'],
            border_choice=choices['border'],
            object_index=int(self.model.object_index))
        val = score_split(self.model, *self.val, self.val_evaluator)
        row.update((k, v) for k, v in val.items() if k.startswith('lf_'))
        row.update(
            val_iou=val['object_iou'], test_iou=self._object_iou(self.test))
        if choices['labels'] == row['object_index']:
            row.update(
                val_iou_labels=row['val_iou'], test_iou_labels=row['test_iou'])
        else:
            self.model.object_index.fill_(choices['labels'])
            row.update(
                val_iou_labels=self._object_iou(self.val),
                test_iou_labels=self._object_iou(self.test))
        return row

    def _object_iou(self, split: Tuple[list, int]) -> float:
        return score_split(self.model, *split,
                           self.iou_evaluator)['object_iou']


def evaluate_run(work_dir: str,
                 config: Optional[str] = None,
                 rule: str = 'border',
                 cfg_options: Optional[dict] = None) -> Iterator[dict]:
    """Score every checkpoint of one run, in iteration order.

    Rows are yielded as they are scored (each takes a pass over val and
    test), so a caller can show them as they come.

    Args:
        work_dir (str): The run's work dir.
        config (str, optional): Its config. Defaults to the dumped one.
        rule (str): Object assignment, ``'border'`` or ``'labels'``.
        cfg_options (dict, optional): Merged into the config.

    Yields:
        dict: Per checkpoint, ``iter`` and :meth:`RunScorer.score`.
    """
    cfg = Config.fromfile(config or find_config(work_dir))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scorer = RunScorer(cfg, rule)
    for iteration, path in find_checkpoints(work_dir):
        yield dict(iter=iteration, **scorer.score(path))


def read_rows(paths: Sequence[str]) -> Dict[str, List[dict]]:
    """Each run's checkpoint rows from saved JSON files.

    Each file maps a run to ``dict(rows=...)``, as
    ``tools/analysis_tools/label_free_selection.py --out`` writes it.

    Combined candidates missing from rows saved before they existed are
    computed from the basic ones, as ``LabelFreeMaskScore`` does.
    """
    runs = {}
    for path in paths:
        with open(path) as f:
            for run, saved in json.load(f).items():
                for row in saved['rows']:
                    basic = {c: row[f'lf_{c}'] for c in BASIC_CANDIDATES}
                    for name, value in combine_candidates(basic).items():
                        row.setdefault(f'lf_{name}', value)
                runs[run] = saved['rows']
    return runs


def pick(rows: List[dict], selector: str) -> dict:
    """The checkpoint a selector keeps (first maximum, or the last one)."""
    score, _ = SELECTORS[selector]
    if score is None:
        return rows[-1]
    return rows[int(np.argmax([row[score] for row in rows]))]


def summarise(rows: List[dict]) -> Dict[str, dict]:
    """Per selector: its pick, test IoU, gaps and rank correlation.

    Returns:
        dict[str, dict]: ``iter``, ``test_iou``, ``gap`` (minus the test
        IoU of the ``val_iou`` pick), ``gap_labels`` (minus the labelled
        pipeline's, ``val_iou_labels``) and ``spearman`` (of the score with
        ``val_iou`` over the checkpoints; NaN for ``last`` or a constant
        score).
    """
    reference = pick(rows, 'val_iou')['test_iou']
    labelled = pick(rows, 'val_iou_labels')['test_iou_labels']
    val_iou = [row['val_iou'] for row in rows]
    summary = {}
    for selector, (score, test_key) in SELECTORS.items():
        chosen = pick(rows, selector)
        test_iou = chosen[test_key]
        values = [row[score] for row in rows] if score else []
        summary[selector] = dict(
            iter=chosen['iter'],
            test_iou=test_iou,
            gap=test_iou - reference,
            gap_labels=test_iou - labelled,
            spearman=rank_correlation(values, val_iou))
    return summary


def stop_summary(rows: List[dict], stops_from: int) -> Dict[str, dict]:
    """Per selector, its gap as if the run had stopped at each checkpoint.

    A run may end at any checkpoint (a time budget, a crash, a user's
    patience); a selector is only as good as its worst stopping point.

    Args:
        rows (list[dict]): The run's checkpoints, in order.
        stops_from (int): Earliest stopping iteration considered.

    Returns:
        dict[str, dict]: ``mean`` and ``worst`` gap (to the val masks'
        pick among the same checkpoints), ``worst_stop`` (the iteration of
        the worst one) and ``stops`` (how many stopping points).
    """
    stops = [k for k in range(1, len(rows) + 1)
             if rows[k - 1]['iter'] >= stops_from]
    if not stops:
        raise ValueError(f'no checkpoint at or after iteration {stops_from}')
    gaps = {selector: [] for selector in SELECTORS}
    for k in stops:
        for selector, summary in summarise(rows[:k]).items():
            gaps[selector].append(summary['gap'])
    return {
        selector: dict(
            mean=float(np.mean(g)),
            worst=float(np.min(g)),
            worst_stop=rows[stops[int(np.argmin(g))] - 1]['iter'],
            stops=len(stops))
        for selector, g in gaps.items()
    }


def rank_correlation(values: List[float], reference: List[float]) -> float:
    """Spearman's rho; NaN when ``values`` is empty or constant."""
    if len(set(values)) < 2:
        return float('nan')
    return float(spearmanr(values, reference).statistic)


ROW_COLUMNS = ('iter', 'label_choice', 'border_choice') + tuple(
    f'lf_{c}' for c in CANDIDATES) + ('val_iou', 'test_iou', 'val_iou_labels',
                                      'test_iou_labels')


def checkpoint_table_header() -> str:
    """Header of the per-checkpoint markdown table."""
    return ('| ' + ' | '.join(ROW_COLUMNS) + ' |\n|' +
            '---|' * len(ROW_COLUMNS))


def format_row(row: dict) -> str:
    """One checkpoint's line of the per-checkpoint table."""
    cells = [
        f'{row[k]:.3f}' if isinstance(row[k], float) else str(row[k])
        for k in ROW_COLUMNS
    ]
    return '| ' + ' | '.join(cells) + ' |'


def markdown_table(header: List[str], body: List[List[str]]) -> str:
    """A markdown table from its header and rows of cells."""
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(cells) + ' |' for cells in body]
    return '\n'.join(lines)


def summary_table(summaries: Dict[str, Dict[str, dict]]) -> str:
    """Markdown: per selector, each run's pick and gaps; the means."""
    runs = list(summaries)
    header = ['selector'] + [
        f'{osp.basename(osp.normpath(r))}: iter / test IoU / gap / '
        'gap vs labels / rho' for r in runs
    ] + ['mean gap', 'mean gap vs labels', 'mean rho']
    body = []
    for selector in SELECTORS:
        cells = [selector]
        for run in runs:
            s = summaries[run][selector]
            cells.append(f'{s["iter"]} / {s["test_iou"]:.3f} / '
                         f'{s["gap"]:+.3f} / {s["gap_labels"]:+.3f} / '
                         f'{s["spearman"]:.2f}')
        for key in ('gap', 'gap_labels'):
            mean = np.mean([summaries[r][selector][key] for r in runs])
            cells.append(f'{mean:+.3f}')
        rhos = [summaries[r][selector]['spearman'] for r in runs]
        defined = [rho for rho in rhos if not np.isnan(rho)]
        cells.append(f'{np.mean(defined):.2f}' if defined else 'nan')
        body.append(cells)
    return markdown_table(header, body)


def stop_table(stops: Dict[str, Dict[str, dict]]) -> str:
    """Markdown: per selector, each run's mean and worst stopping gap."""
    runs = list(stops)
    header = ['selector'] + [
        f'{osp.basename(osp.normpath(r))}: mean / worst (at)' for r in runs
    ] + ['mean', 'worst']
    body = []
    for selector in SELECTORS:
        per_run = [stops[run][selector] for run in runs]
        body.append([selector] + [
            f'{s["mean"]:+.3f} / {s["worst"]:+.3f} ({s["worst_stop"]})'
            for s in per_run
        ] + [
            f'{np.mean([s["mean"] for s in per_run]):+.3f}',
            f'{min(s["worst"] for s in per_run):+.3f}'
        ])
    return markdown_table(header, body)

