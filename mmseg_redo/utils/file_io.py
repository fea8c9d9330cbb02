"""Writes that leave a file whole or absent, never half-written."""
import os
import os.path as osp

#: Suffix of files being written; renamed away once complete.
TMP_SUFFIX = '.tmp'


def fsync_path(path: str) -> None:
    """Flush a file (or a directory entry) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_file(tmp_path: str, path: str) -> None:
    """Atomically move a fully written ``tmp_path`` to ``path``.

    ``os.replace`` is atomic on POSIX (and on Windows within one volume):
    readers see either the old file or the complete new one. The fsyncs make
    the result survive a power cut, not only a killed process.
    """
    fsync_path(tmp_path)
    os.replace(tmp_path, path)
    fsync_path(osp.dirname(osp.abspath(path)))


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves old or new text."""
    tmp_path = path + TMP_SUFFIX
    with open(tmp_path, 'w') as f:
        f.write(text)
    publish_file(tmp_path, path)


def write_bytes_whole(path: str, data: bytes) -> None:
    """Write ``data`` under a temporary name, then rename it to ``path``.

    A killed process leaves ``path`` absent or complete. Unlike
    :func:`publish_file` nothing is fsynced: this is for outputs that can
    be made again (thousands of masks), where a flush per file would cost
    more than the work. The temporary name holds the process id, so
    processes writing into one folder never share one.

    Args:
        path (str): Destination; its folder is created.
        data (bytes): The file's content.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    partial = f'{path}.{os.getpid()}.part'
    try:
        with open(partial, 'wb') as f:
            f.write(data)
        os.replace(partial, path)
    finally:
        if osp.exists(partial):
            os.remove(partial)
