"""From a folder of photos to a student's masks, in one resumable command.

A command line over :func:`mmseg_redo.apis.learn_folder`: a teacher labels
every photo (``grabcut``: GrabCut from a centred box at the photo's size,
no training; ``redo``: ReDO trained on the folder; ``agree``: ReDO's labels
where GrabCut's agree, the rest ignored), a student
(configs/redo/student_unet_image_folder_cpu.py) is trained on the labels,
and its masks, cut-outs, scores and review page of the folder are written
as tools/segment_folder.py writes them (``WORK_DIR/masks`` unless
``--out``). Run the same command again after a kill (or Ctrl-C): finished
stages are skipped (``WORK_DIR/learn_folder.json``) and the unfinished one
goes on where it stopped. The exit status is 1 when a photo failed.

Examples:
    python tools/learn_folder.py my_photos --work-dir work_dirs/my_photos
    # ReDO trained on the folder as the teacher, where GrabCut agrees.
    python tools/learn_folder.py my_photos --work-dir work_dirs/agree \
        --teacher agree --seed 1 --out my_photos_masks
    # A shorter student.
    python tools/learn_folder.py my_photos --work-dir W --cfg-options \
        train_cfg.max_iters=500 param_scheduler.0.end=500
"""
import argparse
import sys
from typing import List, Optional

from mmengine.config import DictAction

from mmseg_redo.apis import UsageError, learn_folder
from mmseg_redo.apis.learn_folder import REDO_CONFIG, STUDENT_CONFIG


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(
        description="Label a folder's photos with a teacher, train a "
        'student on the labels and segment the folder with it')
    parser.add_argument(
        'folder', help='folder of photos (recursive, at least 20)')
    parser.add_argument(
        '--work-dir',
        required=True,
        help='where every stage writes; rerun with it to resume')
    parser.add_argument(
        '--teacher',
        default='grabcut',
        choices=['grabcut', 'redo', 'agree'],
        help='who labels the photos (default: grabcut)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the trainings')
    parser.add_argument(
        '--out',
        help="the student's masks, cut-outs and review page (default: "
        'WORK_DIR/masks; not inside FOLDER)')
    parser.add_argument(
        '--redo-config',
        default=REDO_CONFIG,
        help="ReDO's config (teachers redo and agree)")
    parser.add_argument(
        '--student-config', default=STUDENT_CONFIG, help="the student's")
    parser.add_argument(
        '--batch-size',
        type=int,
        default=8,
        help='photos per forward pass when labelling and segmenting')
    parser.add_argument(
        '--num-workers',
        type=int,
        default=2,
        help='data-loader processes decoding photos there (0: in this '
        'process)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help="override settings of the student's config, xxx=yyy format")
    parser.add_argument(
        '--redo-cfg-options',
        nargs='+',
        action=DictAction,
        help="override settings of ReDO's config, xxx=yyy format")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run (or finish) every stage and say where the outputs are.

    Returns:
        dict: See :func:`mmseg_redo.apis.learn_folder`.
    """
    args = parse_args(argv)
    result = learn_folder(
        args.folder,
        args.work_dir,
        teacher=args.teacher,
        seed=args.seed,
        out_dir=args.out,
        redo_config=args.redo_config,
        student_config=args.student_config,
        redo_cfg_options=args.redo_cfg_options,
        student_cfg_options=args.cfg_options,
        batch_size=args.batch_size,
        num_workers=args.num_workers)
    summary = result['summary'] or dict(failed={})
    for rel, error in summary['failed'].items():
        print(f'  failed: {rel}: {error}')
    out = result['outputs']['masks']
    print(f'masks: {out}/masks, review page (worst first): '
          f'{out}/index.html, journal: {result["journal"]}')
    return result


if __name__ == '__main__':
    try:
        sys.exit(1 if (main()['summary'] or {}).get('failed') else 0)
    except UsageError as error:
        sys.exit(f'learn_folder.py: error: {error}')
