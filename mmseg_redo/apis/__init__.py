"""High-level APIs: segment folders of photos, write pseudo-labels, learn
a folder (teacher, student, masks).

Like ``mmseg.apis``, these take a model from ``init_model`` and files on
disk; the tools in ``tools/`` are thin command lines over them.
"""
from ..datasets.image_folder import output_names
from .folder_outputs import list_images
from .folder_report import write_folder_report
from .inference import PhotoDataset, group_by_size, predict_photos
from .learn_folder import learn_folder
from .pseudo_labels import split_images, write_pseudo_labels
from .segment_folder import UsageError, init_folder_model, segment_folder

__all__ = [
    'PhotoDataset', 'UsageError', 'group_by_size', 'init_folder_model',
    'learn_folder', 'list_images', 'output_names', 'predict_photos',
    'segment_folder', 'split_images', 'write_folder_report',
    'write_pseudo_labels'
]
