"""Tests of mmseg_redo.apis.folder_journal: which photos are whose.

The journal and resume are tested end to end in test_segment_folder.py.
"""
from mmseg_redo.apis.folder_journal import share_of


def test_a_share_holds_the_same_photos_however_many_processes():
    """Machines may launch different numbers of processes for their shares:
    the shares still split the folder exactly."""
    names = [f'dir{i % 7}/photo_{i}.jpg' for i in range(500)]
    for processes in (1, 2, 3):
        taken = [share_of(n, 3, processes) for n in names]
        assert [t[0] for t in taken] == [share_of(n, 3)[0] for n in names]
        for share in range(3):
            counts = [
                sum(t == (share, p) for t in taken) for p in range(processes)
            ]
            # Every process of a share gets some photos.
            assert min(counts) > 0.5 * 500 / (3 * processes)
