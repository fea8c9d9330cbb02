"""Which photos a process segments, and the journal of finished photos.

The photos are split between the shares of ``--shard`` (runs on machines
that know nothing of each other) and, within a share, between the
processes of a launch, by a hash of each photo's path. Every process
appends a line per photo it finishes to its own journal
(``.journal/*.jsonl`` inside the output folder), after the photo's files
are written, so a rerun skips the photos that are finished and redoes any
that a killed run left unfinished.
"""
import json
import os
import os.path as osp
import socket
import time
from typing import Dict, List, Tuple

from ..datasets.image_folder import path_rank
from .folder_outputs import FolderOutputs

#: Folder of the per-process journals, inside ``out_dir``.
JOURNAL_DIR = '.journal'


def share_of(rel_path: str, num_shares: int, num_processes: int = 1
             ) -> Tuple[int, int]:
    """The share (0 to ``num_shares - 1``) a photo belongs to, and the
    process (0 to ``num_processes - 1``) that segments it within its share.

    From the SHA-1 of its path inside the folder, so every process and
    machine agrees on it whatever order it lists the files in, adding
    photos moves none of the others, and a share holds the same photos
    however many processes a run of it launches.
    """
    number = int(path_rank(rel_path)[:8], 16)
    return number % num_shares, number // num_shares % num_processes


def read_journals(out_dir: str) -> Dict[str, dict]:
    """The newest journal record of every photo, by relative path.

    A line cut short by a killed process is not valid JSON and is
    skipped: its photo counts as not done.
    """
    records = {}
    folder = osp.join(out_dir, JOURNAL_DIR)
    if not osp.isdir(folder):
        return records
    lines = []
    for name in os.listdir(folder):
        with open(osp.join(folder, name), encoding='utf-8') as f:
            lines += f.read().splitlines()
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        old = records.get(record['photo'])
        if old is None or record['time'] >= old['time']:
            records[record['photo']] = record
    return records


def finished_photos(outputs: FolderOutputs,
                    records: Dict[str, dict]) -> List[str]:
    """Photos done before: files written and measures journaled."""
    return [
        rel for rel in outputs.rel_paths
        if records.get(rel, {}).get('status') == 'done'
        and outputs.files_exist(rel)
    ]


def photos_to_do(outputs: FolderOutputs, shard: Tuple[int, int], rank: int,
                 world_size: int) -> Tuple[List[str], List[str]]:
    """This process's photos: those still to segment, and those finished
    before (skipped).

    Args:
        outputs (FolderOutputs): The folder's photos and outputs.
        shard (tuple[int, int]): ``(index, count)`` of this run's share.
        rank (int): This process within the launch.
        world_size (int): Processes of the launch.
    """
    index, count = shard
    mine = [
        r for r in outputs.rel_paths
        if share_of(r, count, world_size) == (index, rank)
    ]
    finished = set(finished_photos(outputs, read_journals(outputs.out_dir)))
    return ([r for r in mine if r not in finished],
            [r for r in mine if r in finished])


class Journal:
    """One process's append-only record of the photos it finished.

    One JSON line per photo, flushed once the photo's files are written;
    a new file per run and process, so writers never share a file. A
    context manager that closes the file.

    Args:
        out_dir (str): The output folder.
    """

    def __init__(self, out_dir: str) -> None:
        folder = osp.join(out_dir, JOURNAL_DIR)
        os.makedirs(folder, exist_ok=True)
        name = (f'{socket.gethostname()}-{os.getpid()}-'
                f'{time.time_ns()}.jsonl')
        self.file = open(osp.join(folder, name), 'a', encoding='utf-8')

    def write(self, record: dict) -> None:
        """Append ``record`` (with the time) as one line."""
        record = dict(record, time=time.time())
        self.file.write(json.dumps(record, ensure_ascii=False) + '\n')
        self.file.flush()

    def __enter__(self) -> 'Journal':
        return self

    def __exit__(self, *exc_info) -> None:
        self.file.close()
