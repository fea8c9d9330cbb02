"""Segment every photo under a folder: masks, cut-outs and a contact sheet.

For each image under ``IN_DIR`` (searched recursively; .jpg .jpeg .png
.bmp .webp .tif .tiff in any case; hidden files and folders, such as
macOS' ``._*`` companions, left out), written under
``--out`` with the image's relative path and a ``.png`` suffix:

- ``masks/<rel>.png``: single-channel PNG, 255 = object, 0 = background, at
  the photo's own size;
- ``cutouts/<rel>.png``: the photo as RGBA, alpha = the mask (colours kept
  everywhere, so the alpha can be refined later);
- ``contact_sheet.png``: thumbnails of the first images (sorted by path)
  with their masks overlaid.

Photos are decoded and resized by the config's top-level ``test_pipeline``
(as mmseg's ``inference_model`` does) in data-loader workers, grouped by
resized size, and segmented in batches (``model.test_step``); masks come
back at each photo's size. Every output is written to a temporary file and
renamed, so a rerun skips the photos whose mask and cut-out both exist and
redoes any a killed run left unfinished. A file that cannot be decoded is
reported and skipped; the exit status is 1 when any file failed.

Example:
    python tools/segment_folder.py configs/redo/redo_flowers17_cpu.py \
        work_dirs/redo_flowers17_cpu/best_mIoU_iter_4000.pth my_photos \
        --out my_photos_segmented
    # GrabCut has no weights: no checkpoint.
    python tools/segment_folder.py \
        configs/baselines/grabcut_flowers17-128x128.py my_photos --out gc
"""
import argparse
import os
import os.path as osp
import sys
import time
from collections import defaultdict
from typing import Dict, Iterable, Iterator, List, Optional, Sequence

import cv2
import mmcv
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import DictAction
from mmengine.utils import ProgressBar
from mmseg.apis import init_model
from mmseg.registry import TRANSFORMS
from torch.utils.data import DataLoader, Dataset

from mmseg_redo.datasets.image_folder import IMAGE_SUFFIXES, find_images

#: Images on the contact sheet at most, thumbnail and caption sizes, and
#: thumbnails per row.
CONTACT_SHEET_MAX = 64
THUMB_SIZE = 128
CAPTION_HEIGHT = 14
SHEET_COLUMNS = 8
#: BGR colour of the object on the contact sheet (the object colour of the
#: project's palette, OBJECT_METAINFO).
OVERLAY_BGR = (0, 170, 255)


class UsageError(Exception):
    """Bad command-line input; the message names the file and the fix."""


def list_images(in_dir: str) -> List[str]:
    """Image paths under ``in_dir``, relative to it, sorted.

    The images ``ImageFolderDataset`` trains on
    (:func:`~mmseg_redo.datasets.image_folder.find_images`).

    Args:
        in_dir (str): The folder, searched recursively.

    Returns:
        list[str]: Paths relative to ``in_dir``.
    """
    return [osp.relpath(path, in_dir) for path in find_images(in_dir)]


def output_names(rel_paths: Sequence[str]) -> Dict[str, str]:
    """The output name (relative, ``.png``) of each input image.

    ``a/b.jpg`` gives ``a/b.png``; photos that would share a name
    (``b.jpg`` and ``b.png`` in one folder) keep their suffix instead
    (``b.jpg.png``, ``b.png.png``), so no output overwrites another.

    Args:
        rel_paths (Sequence[str]): Relative image paths.

    Returns:
        dict[str, str]: Relative output path of each input.
    """
    by_stem = defaultdict(list)
    for rel in rel_paths:
        by_stem[osp.splitext(rel)[0]].append(rel)
    names = {}
    for stem, rels in by_stem.items():
        for rel in rels:
            names[rel] = (stem if len(rels) == 1 else rel) + '.png'
    return names


def check_arguments(args: argparse.Namespace) -> None:
    """Fail early, naming the bad path and the fix.

    Raises:
        UsageError: A path is missing, the input folder holds no image, or
            the output folder lies inside the input folder.
    """
    if not osp.isfile(args.config):
        raise UsageError(
            f'config {args.config} does not exist; give a config file such '
            'as configs/redo/redo_flowers17_cpu.py')
    if args.checkpoint and not osp.isfile(args.checkpoint):
        raise UsageError(
            f'checkpoint {args.checkpoint} does not exist; give the .pth '
            'file tools/train.py wrote (work_dirs/<config>/best_*.pth), or '
            'leave it out for a model without weights (GrabCut)')
    if not osp.isdir(args.in_dir):
        raise UsageError(f'input folder {args.in_dir} does not exist or is '
                         'not a folder; give the folder holding the photos')
    if not list_images(args.in_dir):
        raise UsageError(
            f'no image ({" ".join(IMAGE_SUFFIXES)}, any case) under '
            f'{args.in_dir}; give the folder holding the photos')
    in_dir, out_dir = osp.realpath(args.in_dir), osp.realpath(args.out)
    if osp.commonpath([in_dir, out_dir]) == in_dir:
        raise UsageError(
            f'output folder {args.out} is inside the input folder '
            f'{args.in_dir}, so a rerun would segment the masks too; give an '
            'output folder outside it')


def load_model(args: argparse.Namespace) -> torch.nn.Module:
    """The model of ``args.config`` with its checkpoint, for inference.

    Raises:
        UsageError: The config has no top-level ``test_pipeline``, or its
            model has weights and no checkpoint was given.
    """
    model = init_model(
        args.config,
        args.checkpoint,
        device=args.device,
        cfg_options=args.cfg_options)
    if not model.cfg.get('test_pipeline'):
        raise UsageError(
            f'{args.config} has no top-level test_pipeline (what mmseg\'s '
            'inference_model reads); add one, as in '
            'configs/_base_/datasets/redo_photos_128.py')
    if args.checkpoint is None and next(model.parameters(), None) is not None:
        raise UsageError(
            f'{args.config} builds a model with weights but no checkpoint '
            'was given; pass the trained .pth after the config (only '
            'weightless models such as GrabCut run without one)')
    return model


class PhotoDataset(Dataset):
    """Photos through a config's test pipeline, keeping the decoded photo.

    The pipeline's first transform is its loader (as mmseg's
    ``inference_model`` assumes); its output, the photo at its own size as
    the config decodes it (BGR), is kept for the cut-out. A file the loader
    cannot read gives a sample with ``error`` instead of raising, so one
    bad file does not stop the batch.

    Args:
        in_dir (str): The folder holding the photos.
        rel_paths (Sequence[str]): Photos to load, relative to ``in_dir``.
        pipeline (Sequence[dict]): The config's ``test_pipeline``.
    """

    def __init__(self, in_dir: str, rel_paths: Sequence[str],
                 pipeline: Sequence[dict]) -> None:
        self.in_dir = in_dir
        self.rel_paths = list(rel_paths)
        # Photos have no annotations (inference_model drops this too).
        pipeline = [t for t in pipeline if t['type'] != 'LoadAnnotations']
        self.loader = TRANSFORMS.build(pipeline[0])
        self.transforms = Compose(pipeline[1:])

    def __len__(self) -> int:
        return len(self.rel_paths)

    def __getitem__(self, index: int) -> dict:
        rel = self.rel_paths[index]
        try:
            results = self.loader(
                dict(img_path=osp.join(self.in_dir, rel), img_id=index))
        except Exception as error:  # any decoder error means a bad file
            return dict(rel=rel, error=f'{type(error).__name__}: {error}')
        photo = results['img']
        packed = self.transforms(results)
        return dict(
            rel=rel,
            photo=photo,
            inputs=packed['inputs'],
            data_samples=packed['data_samples'])


def _as_is(sample: dict) -> dict:
    """DataLoader collate function: samples are grouped later, by size."""
    return sample


def group_by_size(samples: Iterable[dict],
                  batch_size: int,
                  max_pending: Optional[int] = None) -> Iterator[List[dict]]:
    """Batches of samples whose inputs have one size.

    ``test_pipeline`` resizes without cropping, so photos of different
    aspect ratios give inputs of different sizes. Padding them to one size
    would change the predictions (GrabCut's box, pooling over the padding),
    so batches are made of equal sizes only.

    Args:
        samples (Iterable[dict]): Samples with ``inputs`` (C, H, W).
        batch_size (int): Largest batch.
        max_pending (int, optional): Samples held back at most while
            waiting for same-size ones; beyond it the fullest group goes
            out unfilled (memory stays bounded with many sizes). Defaults
            to ``4 * batch_size``.

    Yields:
        list[dict]: A batch of one input size.
    """
    max_pending = max_pending or 4 * batch_size
    groups = defaultdict(list)
    pending = 0
    for sample in samples:
        group = groups[tuple(sample['inputs'].shape)]
        group.append(sample)
        pending += 1
        if len(group) < batch_size and pending < max_pending:
            continue
        fullest = max(groups, key=lambda size: len(groups[size]))
        pending -= len(groups[fullest])
        yield groups.pop(fullest)
    yield from groups.values()


@torch.no_grad()
def predict_masks(model: torch.nn.Module,
                  batch: Sequence[dict]) -> List[np.ndarray]:
    """Object masks (uint8, 1 = object) at each photo's own size."""
    results = model.test_step(
        dict(
            inputs=[s['inputs'] for s in batch],
            data_samples=[s['data_samples'] for s in batch]))
    return [
        r.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8) for r in results
    ]


def write_png(path: str, image: np.ndarray) -> None:
    """Write a PNG through a temporary file, so it is whole or absent.

    Args:
        path (str): Destination; its folder is created.
        image (np.ndarray): (H, W), (H, W, 3) BGR or (H, W, 4) BGRA uint8.
    """
    os.makedirs(osp.dirname(path), exist_ok=True)
    ok, encoded = cv2.imencode('.png', image)
    if not ok:
        raise OSError(f'OpenCV could not encode {path} as PNG')
    partial = f'{path}.{os.getpid()}.part'
    try:
        with open(partial, 'wb') as f:
            f.write(encoded.tobytes())
        os.replace(partial, path)
    finally:
        if osp.exists(partial):
            os.remove(partial)


def cutout(photo: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """BGRA photo whose alpha is the mask (255 = object)."""
    return np.dstack([photo, mask * np.uint8(255)])


def thumbnail(cut: np.ndarray) -> np.ndarray:
    """A cut-out as a BGR thumbnail, object tinted and outlined."""
    small = mmcv.imrescale(cut, (THUMB_SIZE, THUMB_SIZE), interpolation='area')
    image, mask = small[..., :3].copy(), small[..., 3] > 127
    image[mask] = (0.5 * image[mask] + 0.5 * np.array(OVERLAY_BGR)).astype(
        np.uint8)
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return cv2.drawContours(image, contours, -1, OVERLAY_BGR, 1)


def contact_sheet(cutout_paths: Sequence[str],
                  captions: Sequence[str]) -> np.ndarray:
    """A grid of captioned thumbnails of cut-outs (BGR).

    Args:
        cutout_paths (Sequence[str]): Cut-out PNGs (BGRA).
        captions (Sequence[str]): Text under each thumbnail.

    Returns:
        np.ndarray: The sheet, :data:`SHEET_COLUMNS` thumbnails wide.
    """
    cell_w, cell_h = THUMB_SIZE + 4, THUMB_SIZE + CAPTION_HEIGHT + 4
    rows = -(-len(cutout_paths) // SHEET_COLUMNS)
    columns = min(len(cutout_paths), SHEET_COLUMNS)
    sheet = np.full((rows * cell_h, columns * cell_w, 3), 32, np.uint8)
    for i, (path, caption) in enumerate(zip(cutout_paths, captions)):
        thumb = thumbnail(mmcv.imread(path, flag='unchanged'))
        y, x = (i // SHEET_COLUMNS) * cell_h + 2, (i % SHEET_COLUMNS) * cell_w
        sheet[y:y + thumb.shape[0], x + 2:x + 2 + thumb.shape[1]] = thumb
        # Long names keep their end, which tells photos apart.
        text = caption if len(caption) <= 20 else '...' + caption[-17:]
        cv2.putText(sheet, text, (x + 2, y + THUMB_SIZE + CAPTION_HEIGHT - 3),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.35, (230, 230, 230), 1,
                    cv2.LINE_AA)
    return sheet


def segment_folder(model: torch.nn.Module,
                   in_dir: str,
                   out_dir: str,
                   batch_size: int = 16,
                   num_workers: int = 2) -> dict:
    """Segment every image under ``in_dir`` into ``out_dir``.

    Args:
        model (nn.Module): A model from mmseg's ``init_model`` (its ``cfg``
            holds the ``test_pipeline``).
        in_dir (str): Folder of photos, searched recursively.
        out_dir (str): Where ``masks/``, ``cutouts/`` and
            ``contact_sheet.png`` go.
        batch_size (int): Photos per forward pass. Defaults to 16.
        num_workers (int): Data-loader processes decoding photos.
            Defaults to 2.

    Returns:
        dict: ``done`` and ``skipped`` (relative paths), ``failed``
        (relative path to error message), ``seconds`` (decoding, model and
        writing of the ``done`` photos) and ``contact_sheet`` (its path and
        the number of photos on it).
    """
    rel_paths = list_images(in_dir)
    names = output_names(rel_paths)
    mask_path = {r: osp.join(out_dir, 'masks', names[r]) for r in rel_paths}
    cut_path = {r: osp.join(out_dir, 'cutouts', names[r]) for r in rel_paths}
    finished_before = {
        r
        for r in rel_paths
        if osp.isfile(mask_path[r]) and osp.isfile(cut_path[r])
    }
    skipped = [r for r in rel_paths if r in finished_before]
    todo = [r for r in rel_paths if r not in finished_before]
    done, failed = [], {}

    start = time.perf_counter()
    if todo:
        loader = DataLoader(
            PhotoDataset(in_dir, todo, model.cfg.test_pipeline),
            batch_size=None,
            collate_fn=_as_is,
            num_workers=num_workers)
        progress = ProgressBar(len(todo), file=sys.stderr)
        for batch in group_by_size(
                _drop_failures(loader, failed, progress), batch_size):
            for sample, mask in zip(batch, predict_masks(model, batch)):
                write_png(mask_path[sample['rel']], mask * np.uint8(255))
                write_png(cut_path[sample['rel']],
                          cutout(sample['photo'], mask))
                done.append(sample['rel'])
                progress.update()
        sys.stderr.write('\n')
    seconds = time.perf_counter() - start

    finished = [r for r in rel_paths if r not in failed]
    on_sheet = finished[:CONTACT_SHEET_MAX]
    sheet_path = osp.join(out_dir, 'contact_sheet.png')
    if on_sheet:
        write_png(sheet_path,
                  contact_sheet([cut_path[r] for r in on_sheet], on_sheet))
    return dict(
        done=done,
        skipped=skipped,
        failed=failed,
        seconds=seconds,
        contact_sheet=dict(
            path=sheet_path if on_sheet else None,
            shown=len(on_sheet),
            finished=len(finished)))


def _drop_failures(samples: Iterable[dict], failed: Dict[str, str],
                   progress: ProgressBar) -> Iterator[dict]:
    """Pass decoded samples on; record the others in ``failed``."""
    for sample in samples:
        if 'error' in sample:
            failed[sample['rel']] = sample['error']
            progress.update()
        else:
            yield sample


def print_summary(summary: dict, out_dir: str) -> None:
    """Counts, failed files, speed and where the outputs are."""
    done, failed = summary['done'], summary['failed']
    print(f'done {len(done)}, skipped {len(summary["skipped"])} (already '
          f'finished), failed {len(failed)}')
    for rel, error in failed.items():
        print(f'  failed: {rel}: {error}')
    if done:
        print(f'{len(done)} images in {summary["seconds"]:.1f} s: '
              f'{len(done) / summary["seconds"]:.2f} images/s (decoding, '
              'model and writing)')
    sheet = summary['contact_sheet']
    print(f'masks: {osp.join(out_dir, "masks")}, cut-outs: '
          f'{osp.join(out_dir, "cutouts")}')
    if sheet['path']:
        shown = (f'the first {sheet["shown"]} of {sheet["finished"]} images'
                 if sheet['shown'] < sheet['finished'] else
                 f'{sheet["shown"]} images')
        print(f'contact sheet: {sheet["path"]} ({shown})')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line flags (mmseg's inference flags where they apply)."""
    parser = argparse.ArgumentParser(
        description='Segment every photo under a folder: masks, RGBA '
        'cut-outs and a contact sheet')
    parser.add_argument('config', help='config file of the model')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help='checkpoint file; leave out (or "none") for a model without '
        'weights, such as GrabCut')
    parser.add_argument('in_dir', help='folder of photos (recursive)')
    parser.add_argument(
        '--out', required=True, help='output folder (not inside IN_DIR)')
    parser.add_argument(
        '--device',
        default='cuda:0' if torch.cuda.is_available() else 'cpu',
        help='device for the model, e.g. cpu, cuda:0')
    parser.add_argument(
        '--batch-size', type=int, default=16, help='photos per forward pass')
    parser.add_argument(
        '--num-workers',
        type=int,
        default=2,
        help='data-loader processes decoding photos (0: in this process)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, xxx=yyy format')
    args = parser.parse_args(argv)
    if args.checkpoint and args.checkpoint.lower() == 'none':
        args.checkpoint = None
    return args


def main(argv: Optional[List[str]] = None) -> dict:
    """Segment the folder and print the summary.

    Returns:
        dict: See :func:`segment_folder`.
    """
    args = parse_args(argv)
    check_arguments(args)
    model = load_model(args)
    summary = segment_folder(model, args.in_dir, args.out, args.batch_size,
                             args.num_workers)
    print_summary(summary, args.out)
    return summary


if __name__ == '__main__':
    try:
        sys.exit(1 if main()['failed'] else 0)
    except UsageError as error:
        sys.exit(f'segment_folder.py: error: {error}')
