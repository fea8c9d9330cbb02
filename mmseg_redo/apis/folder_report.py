"""A photo folder's scores and the pages for reviewing its masks.

Per photo, the label-free mask measures go to the journal
(:func:`photo_record`); for the whole folder, :func:`write_folder_report`
turns every journaled photo into ``scores.csv`` (measures, quality score
and flags, worst first), ``index.html`` (the review page, worst first) and
``contact_sheet.png`` (the first photos by path).
"""
import csv
import io
import os.path as osp
from typing import Iterable, List, Sequence

import mmcv
import numpy as np
import torch

from ..evaluation.mask_quality import (FLAGS, photo_measures, quality_flags,
                                       quality_score)
from ..utils.file_io import write_bytes_whole
from ..visualization.mask_overlay import contact_sheet
from ..visualization.review_page import write_review_page
from .folder_journal import finished_photos, read_journals
from .folder_outputs import FolderOutputs, encode

#: Photos on the contact sheet at most.
CONTACT_SHEET_MAX = 64
#: The measures written per photo, in column order.
MEASURES = ('confidence', 'area', 'border_share', 'border_mass',
            'largest_share')


def photo_record(rel: str, prob: np.ndarray, mask: np.ndarray) -> dict:
    """A finished photo's journal record: its label-free measures.

    Args:
        rel (str): The photo's path relative to the photo folder.
        prob (np.ndarray): (H, W) object probability.
        mask (np.ndarray): (H, W) uint8, 1 = object.
    """
    measures = photo_measures(
        torch.from_numpy(prob), torch.from_numpy(mask.astype(bool)))
    return dict(
        photo=rel, status='done', **{name: measures[name]
                                      for name in MEASURES})


def write_folder_report(outputs: FolderOutputs) -> dict:
    """Write ``scores.csv``, ``index.html`` and ``contact_sheet.png``.

    From the journals: every photo finished so far, by any process or run,
    and the photos whose last attempt failed.

    Returns:
        dict: Paths written (None where there was nothing to show), and the
        number of photos ``finished`` and ``shown`` on the contact sheet.
    """
    out_dir = outputs.out_dir
    records = read_journals(out_dir)
    finished = finished_photos(outputs, records)
    failed = [
        records[r] for r in outputs.rel_paths
        if records.get(r, {}).get('status') == 'failed'
    ]
    rows = sorted(scored(records[r] for r in finished),
                  key=lambda rec: (rec['score'], rec['photo']))
    scores_path = osp.join(out_dir, 'scores.csv')
    write_bytes_whole(scores_path,
                      scores_csv(rows, failed, outputs).encode('utf-8'))

    report = dict(
        scores=scores_path,
        index=None,
        contact_sheet=None,
        finished=len(finished),
        shown=0)
    if not rows:
        return report
    report['index'] = write_review_page(
        out_dir, [review_row(rec, outputs) for rec in rows],
        FLAGS,
        title=f'{len(rows)} masks of {osp.abspath(outputs.in_dir)}')
    on_sheet = finished[:CONTACT_SHEET_MAX]
    thumbs = [
        mmcv.imread(osp.join(out_dir, outputs.thumb(r))) for r in on_sheet
    ]
    sheet_path = osp.join(out_dir, 'contact_sheet.png')
    write_bytes_whole(sheet_path, encode(contact_sheet(thumbs, on_sheet),
                                         '.png'))
    report.update(contact_sheet=sheet_path, shown=len(on_sheet))
    return report


def scored(records: Iterable[dict]) -> List[dict]:
    """Finished photos' records with their quality ``score`` and ``flags``.

    Both compare each mask with the folder's median object area, so they
    are computed here, from every photo finished so far, not per photo.
    """
    records = list(records)
    median_area = float(np.median([rec['area'] for rec in records])) \
        if records else 0.0
    return [
        dict(rec,
             score=quality_score(rec, median_area),
             flags=quality_flags(rec, median_area)) for rec in records
    ]


def scores_csv(rows: Sequence[dict], failed: Sequence[dict],
               outputs: FolderOutputs) -> str:
    """The text of ``scores.csv``: finished photos worst first, then the
    failed ones, one column per flag (1 = raised) for spreadsheet filters.
    """
    text = io.StringIO()
    writer = csv.writer(text, lineterminator='\n')
    writer.writerow(('photo', 'score') + MEASURES + FLAGS +
                    ('flags', 'mask', 'cutout', 'error'))
    for rec in rows:
        writer.writerow([rec['photo'], f'{rec["score"]:.4f}'] +
                        [f'{rec[m]:.4f}' for m in MEASURES] +
                        [int(flag in rec['flags']) for flag in FLAGS] + [
                            ' '.join(rec['flags']),
                            outputs.mask(rec['photo']),
                            outputs.cutout(rec['photo']), ''
                        ])
    for rec in failed:
        writer.writerow([rec['photo']] + [''] *
                        (1 + len(MEASURES) + len(FLAGS) + 3) +
                        [rec['error']])
    return text.getvalue()


def review_row(record: dict, outputs: FolderOutputs) -> dict:
    """One photo of the review page (paths relative to ``out_dir``)."""
    rel = record['photo']
    return dict(
        name=rel,
        thumb=outputs.thumb(rel),
        mask=outputs.mask(rel),
        cutout=outputs.cutout(rel),
        photo=osp.relpath(
            osp.abspath(osp.join(outputs.in_dir, rel)),
            osp.abspath(outputs.out_dir)),
        score=record['score'],
        measures={m: record[m]
                  for m in MEASURES},
        flags=record['flags'])
