"""From a folder of photos to a student's masks, in one resumable call.

The self-training workflow (docs/benchmarks.md, issue 26) as stages run in
this process, each an existing step: a teacher labels every photo, a
student (configs/redo/student_unet_image_folder_cpu.py) is trained on the
labels, and :func:`~mmseg_redo.apis.segment_folder` writes its masks::

    WORK/redo/             ReDO's training (teachers 'redo' and 'agree')
    WORK/labels_grabcut/   box GrabCut's labels ('grabcut', 'agree')
    WORK/labels_redo/      ReDO's labels ('redo'; 'agree': 255 where the
                           two teachers differ, ignored in training)
    WORK/student/          the student's training
    WORK/masks/            segment_folder's outputs (unless out_dir)
    WORK/learn_folder.json the journal of finished stages

A rerun after a kill skips the stages the journal lists and goes on inside
the unfinished one: training resumes from its last checkpoint, labelling
skips the photos that have a label, segmenting the finished photos.
"""
import gc
import glob
import json
import logging
import os
import os.path as osp
import re
import time
from typing import Callable, List, Optional

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

from ..datasets.image_folder import ImageFolderDataset, output_names
from ..utils.config import merge_cfg_options
from ..utils.file_io import atomic_write_text
from .folder_outputs import list_images
from .pseudo_labels import write_pseudo_labels
from .segment_folder import (UsageError, check_folders, init_folder_model,
                             segment_folder)

#: Where the default configs are: the repository holding the package.
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The stages of each teacher, in the order they run.
STAGES = dict(
    grabcut=('grabcut_labels', 'student', 'masks'),
    redo=('redo', 'redo_labels', 'student', 'masks'),
    agree=('redo', 'grabcut_labels', 'redo_labels', 'student', 'masks'))
JOURNAL = 'learn_folder.json'
#: The default configs, relative to the repository.
REDO_CONFIG = 'configs/redo/redo_image_folder_cpu.py'
STUDENT_CONFIG = 'configs/redo/student_unet_image_folder_cpu.py'
GRABCUT_CONFIG = 'configs/redo/grabcut_box_photo_size.py'


def learn_folder(in_dir: str,
                 work_dir: str,
                 teacher: str = 'grabcut',
                 seed: int = 0,
                 out_dir: Optional[str] = None,
                 redo_config: str = REDO_CONFIG,
                 student_config: str = STUDENT_CONFIG,
                 grabcut_config: str = GRABCUT_CONFIG,
                 redo_cfg_options: Optional[dict] = None,
                 student_cfg_options: Optional[dict] = None,
                 batch_size: int = 8,
                 num_workers: int = 2,
                 progress: bool = True) -> dict:
    """Label the folder with a teacher, train a student, segment the folder.

    Args:
        in_dir (str): Folder of photos (recursive; at least 20).
        work_dir (str): Where every stage writes (not inside ``in_dir``).
        teacher (str): Who labels the photos: 'grabcut' (GrabCut from a
            centred box at the photo's size, nothing trained), 'redo'
            (ReDO trained on the folder, its own masks) or 'agree' (ReDO's
            labels where GrabCut's agree). Defaults to 'grabcut'.
        seed (int): ``randomness.seed`` of both trainings. Defaults to 0.
        out_dir (str, optional): The student's masks, cut-outs and review
            page. Defaults to ``work_dir/masks``.
        redo_config, student_config, grabcut_config (str): Config files; a
            path that is not a file from here is taken from the repository.
        redo_cfg_options, student_cfg_options (dict, optional): Overrides
            of ReDO's and the student's configs (the student's also reach
            its model when segmenting); not part of the journal's settings,
            so a rerun may change them (e.g. a smaller batch).
        batch_size (int): Photos per forward pass when labelling and
            segmenting. Defaults to 8.
        num_workers (int): Data-loader processes decoding photos there.
            Defaults to 2.
        progress (bool): segment_folder's progress bar. Defaults to True.

    Returns:
        dict: ``seconds`` and ``outputs`` of each stage (from the journal:
        a stage finished by an earlier run keeps that run's time),
        ``summary``, segment_folder's summary (None when the masks were
        finished by an earlier run), and ``journal``, its path.

    Raises:
        UsageError: A bad teacher or config; the folder is missing, holds
            fewer than 20 photos or contains ``work_dir`` or ``out_dir``;
            ``work_dir`` holds a run with other settings.
    """
    if teacher not in STAGES:
        raise UsageError(f'teacher {teacher!r}: choose one of '
                         f'{", ".join(STAGES)}')
    out_dir = out_dir or osp.join(work_dir, 'masks')
    # Labels inside the folder would be taken for photos by the next stage.
    check_folders(in_dir, work_dir)
    check_folders(in_dir, out_dir)
    try:  # The dataset's own checks (20 photos), before hours of labels.
        ImageFolderDataset(data_root=in_dir, split='val', pipeline=[])
    except (FileNotFoundError, ValueError) as error:
        raise UsageError(str(error)) from None
    stages = STAGES[teacher]
    used = dict(student_config=student_config)
    if teacher != 'grabcut':
        used['redo_config'] = redo_config
    if teacher != 'redo':
        used['grabcut_config'] = grabcut_config
    configs = {key: _find_config(path) for key, path in used.items()}
    settings = dict(
        folder=osp.abspath(in_dir), teacher=teacher, seed=seed, **configs)
    journal_path = osp.join(work_dir, JOURNAL)
    done = _read_journal(journal_path, settings, work_dir)['stages']

    rels = list_images(in_dir)
    label_dirs = dict(
        grabcut_labels=osp.join(work_dir, 'labels_grabcut'),
        redo_labels=osp.join(work_dir, 'labels_redo'))
    teacher_labels = label_dirs['grabcut_labels' if teacher ==
                                'grabcut' else 'redo_labels']
    trained = {'data_root': in_dir, 'randomness.seed': seed}
    redo_options = {**trained, **(redo_cfg_options or {})}
    student_options = {
        **trained, 'train_dataloader.dataset.seg_map_dir': teacher_labels,
        'val_dataloader.dataset.seg_map_dir': teacher_labels,
        **(student_cfg_options or {})
    }
    summary = None
    for number, stage in enumerate(stages, 1):
        banner = f'stage {number}/{len(stages)}: {stage}: {len(rels)} photos'
        if stage in done:
            print_log(f'{banner}: finished before ({done[stage]["output"]})',
                      logger='current')
            continue
        print_log(f'{banner} ...', logger='current')
        start = time.perf_counter()
        if stage == 'redo':
            output = _best_checkpoint(
                _train(configs['redo_config'], redo_options,
                       osp.join(work_dir, 'redo')))
        elif stage == 'grabcut_labels':
            output = _write_labels(
                lambda: init_folder_model(configs['grabcut_config']), in_dir,
                rels, label_dirs[stage], batch_size, num_workers)
        elif stage == 'redo_labels':
            # ReDO's own masks: the config's test-time GrabCut would make
            # them GrabCut's again.
            options = {**(redo_cfg_options or {}),
                       'model.test_cfg.grabcut': None}
            output = _write_labels(
                lambda: init_folder_model(configs['redo_config'],
                                          done['redo']['output'],
                                          cfg_options=options), in_dir, rels,
                label_dirs[stage], batch_size, num_workers,
                label_dirs['grabcut_labels'] if teacher == 'agree' else None)
        elif stage == 'student':
            output = _train(configs['student_config'], student_options,
                            osp.join(work_dir, 'student'))
        else:
            model = init_folder_model(
                configs['student_config'], done['student']['output'],
                cfg_options=student_cfg_options)
            summary = segment_folder(model, in_dir, out_dir, batch_size,
                                     num_workers, progress=progress)
            output = out_dir
        done[stage] = dict(
            seconds=round(time.perf_counter() - start, 1),
            finished=time.strftime('%Y-%m-%d %H:%M:%S'),
            output=output)
        atomic_write_text(
            journal_path,
            json.dumps(dict(settings=settings, stages=done), indent=2))
    rows = [f'{"stage":<15}{"seconds":>9}  {"finished":<19}  output'] + [
        f'{s:<15}{done[s]["seconds"]:>9.1f}  {done[s]["finished"]}  '
        f'{done[s]["output"]}' for s in stages
    ]
    print_log('\n'.join(rows), logger='current')
    return dict(
        seconds={s: done[s]['seconds'] for s in stages},
        outputs={s: done[s]['output'] for s in stages},
        summary=summary,
        journal=journal_path)


def _find_config(path: str) -> str:
    """``path`` as given if it is a file, else inside the repository.

    Raises:
        UsageError: Neither is a file.
    """
    for candidate in (path, osp.join(REPO_ROOT, path)):
        if osp.isfile(candidate):
            return osp.abspath(candidate)
    raise UsageError(f'config {path} does not exist (here or in '
                     f'{REPO_ROOT}); give a config file')


def _read_journal(path: str, settings: dict, work_dir: str) -> dict:
    """The journal of an earlier run with the same settings, or a new one.

    Raises:
        UsageError: The earlier run had other settings: its outputs would
            be mixed into this run's.
    """
    if not osp.isfile(path):
        os.makedirs(work_dir, exist_ok=True)
        return dict(settings=settings, stages={})
    with open(path) as f:
        journal = json.load(f)
    changed = [
        f'{key} {journal["settings"].get(key)!r} then, {value!r} now'
        for key, value in settings.items()
        if journal['settings'].get(key) != value
    ]
    if changed:
        raise UsageError(
            f'{work_dir} holds a run with other settings ({"; ".join(changed)}'
            f'; see {path}); give a new --work-dir (work_dir), or the same '
            'settings to finish that run')
    return journal


def _train(config: str, options: dict, work_dir: str) -> str:
    """Train ``config`` in ``work_dir`` as tools/train.py does, resuming
    from the last checkpoint there, and return the last checkpoint."""
    cfg = Config.fromfile(config)
    cfg.launcher = 'none'  # One process: no process group to open.
    merge_cfg_options(cfg, options)
    cfg.work_dir = work_dir
    last_file = osp.join(work_dir, 'last_checkpoint')
    cfg.resume = osp.isfile(last_file)
    if cfg.resume and _read(last_file).endswith(
            f'iter_{cfg.train_cfg.get("max_iters")}.pth'):
        # Killed after training, before the journal: nothing is left to
        # train, and resuming would replay every batch of the data loader.
        return _read(last_file)
    # Two runners in one process (ReDO, then the student): mmengine shares
    # the logger, message hub and visualizer of equal names, and the
    # configs' visualizer has a fixed name, so the student's scalars would
    # go to ReDO's log folder.
    cfg.experiment_name = f'{osp.basename(work_dir)}_{time.time_ns()}'
    if cfg.get('visualizer'):
        cfg.visualizer.name = f'{cfg.experiment_name}_visualizer'
    Runner.from_cfg(cfg).train()
    # The runner's persistent data-loader workers end with it, which its
    # loops refer back to: collect it now, not during the next stage.
    gc.collect()
    return _read(last_file)


def _read(path: str) -> str:
    """The text of a file, stripped."""
    with open(path) as f:
        return f.read().strip()


def _best_checkpoint(last: str) -> str:
    """The newest ``best_*_iter_N.pth`` beside ``last`` (the checkpoint
    hook's ``save_best``), or ``last`` if there is none."""
    found = glob.glob(osp.join(osp.dirname(last), 'best_*_iter_*.pth'))
    if found:
        return max(found,
                   key=lambda p: int(re.search(r'_iter_(\d+)\.pth$', p)[1]))
    print_log(f'no best_*.pth beside {last} (no validation ran): the '
              'teacher is the last checkpoint', logger='current',
              level=logging.WARNING)
    return last


def _write_labels(model: Callable, in_dir: str, rels: List[str],
                  out_dir: str, batch_size: int, num_workers: int,
                  agree_with: Optional[str] = None) -> str:
    """Label the photos that have no label in ``out_dir`` yet.

    Each label is written whole or not at all, so one that exists is
    finished. ``model`` builds the teacher, only if a photo is left.
    """
    names = output_names(rels)  # As make_pseudo_labels.py --folder does.
    todo = [r for r in rels if not osp.isfile(osp.join(out_dir, names[r]))]
    print_log(f'{len(rels) - len(todo)} labelled before, {len(todo)} to '
              f'label into {out_dir}', logger='current')
    if todo:
        result = write_pseudo_labels(
            model(), [osp.join(in_dir, r) for r in todo], out_dir,
            [names[r] for r in todo], batch_size, num_workers,
            agree_with=agree_with)
        for path, error in result['failed'].items():
            print_log(f'unreadable, left out: {path}: {error}',
                      logger='current', level=logging.WARNING)
    return out_dir
