"""mmseg's ``inference time (ms/im)`` of every row of a rows file.

``python -m benchmarks.inference_time ROWS_FILE --photos DIR`` builds each
row's model as a user does (mmseg's ``init_model`` with the row's config,
its ``timing`` keys' checkpoint and ``cfg_options``) and times mmseg's
``inference_model`` on the first ``--limit`` photos of ``DIR``, one photo
at a time (batch size 1), each timing from the file on disk to the mask at
the photo's size (decoding, the test pipeline, the network and any
per-photo GrabCut). The median goes into the row's entry of the results
store, with the hardware, batch size, mode and the command, where
``python -m benchmarks.results ROWS_FILE --from-store`` puts it into the
tables and the metafile. A rows file gives each row what it needs::

    timing:
      checkpoint: work_dirs/run/best_*.pth  # weights of the row's config
      cfg_options: {model.test_cfg.grabcut: null}

Run it on an otherwise idle machine: the figures are per-photo times of
this machine's cores, not throughputs of a busy one.
"""
import argparse
import os.path as osp
import statistics
import time
from typing import List, Optional

import torch
from mmengine.registry import init_default_scope
from mmseg.apis import inference_model, init_model
from PIL import Image

from mmseg_redo.apis import list_images

from .results import open_store, provenance
from .scoring import Row, checkpoint_matches, load_entries

#: Photos timed before the measured ones (first-call allocations).
WARMUP = 3


def time_row(row: Row, photos: List[str]) -> List[float]:
    """Seconds of ``inference_model`` for each photo, after a warm-up."""
    timing = row.get('timing') or {}
    checkpoint = timing.get('checkpoint')
    if checkpoint:  # A glob, as the rows' checkpoints: its newest match.
        checkpoint = checkpoint_matches(checkpoint)[-1]
    model = init_model(row['config'], checkpoint, device='cpu',
                       cfg_options=timing.get('cfg_options'))
    init_default_scope('mmseg')
    seconds = []
    with torch.no_grad():
        for photo in photos[:WARMUP]:
            inference_model(model, photo)
        for photo in photos:
            start = time.perf_counter()
            inference_model(model, photo)
            seconds.append(time.perf_counter() - start)
    return seconds


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        description="Time each row's model on photos; store ms/im")
    parser.add_argument('entries', help='the rows file (YAML)')
    parser.add_argument('--photos', required=True,
                        help='folder of the collection\'s photos')
    parser.add_argument('--limit', type=int, default=30,
                        help='photos timed per row (after 3 of warm-up)')
    parser.add_argument('--rows', nargs='+',
                        help='time only the rows whose name contains one '
                        'of these')
    args = parser.parse_args(argv)
    data = load_entries(args.entries)
    store = open_store(data)
    photos = [osp.join(args.photos, rel)
              for rel in list_images(args.photos)[:args.limit]]
    command = ('python -m benchmarks.inference_time '
               f'{args.entries} --photos {args.photos} --limit {args.limit}')
    source = provenance(command, osp.dirname(osp.dirname(
        osp.abspath(__file__))))
    sizes = sorted({_size(p) for p in photos})
    for row in data['rows']:
        if args.rows and not any(s in row['name'] for s in args.rows):
            continue
        entry = store.get(row)
        if entry is None:
            print(f"skipped {row['name']!r}: not in {store.path} (score it "
                  'first with python -m benchmarks.results)')
            continue
        try:
            seconds = time_row(row, photos)
        except FileNotFoundError as error:  # its checkpoint is elsewhere
            print(f"skipped {row['name']!r}: {error} (train it, or change "
                  "the row's timing.checkpoint)")
            continue
        timing = {
            'value': round(1000 * statistics.median(seconds), 1),
            'hardware': f"{source['machine']}, "
                        f'{torch.get_num_threads()} threads',
            'backend': 'PyTorch',
            'batch size': 1,
            'mode': 'FP32',
            'resolution': ', '.join(f'({h},{w})' for h, w in sizes),
            'photos': len(seconds),
            'measured': {k: source[k] for k in ('date', 'commit', 'command')},
        }
        store.set_inference_time(row, timing)
        print(f"{row['name']}: {timing['value']} ms/im (median of "
              f'{len(seconds)}; min {1000 * min(seconds):.1f}, max '
              f'{1000 * max(seconds):.1f})')


def _size(path: str) -> tuple:
    """A photo's (height, width), read from its header only."""
    with Image.open(path) as img:
        return img.size[::-1]


if __name__ == '__main__':
    main()
