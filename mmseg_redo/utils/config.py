"""Config helpers of the training and testing tools."""
from mmengine.config import Config

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def merge_cfg_options(cfg: Config, options: dict) -> None:
    """Merge ``--cfg-options``; a top-level ``data_root`` reaches the data.

    mmengine substitutes a config's variables when it reads the file, so
    ``--cfg-options data_root=X`` alone changes the top-level key but not
    the dataloaders built from it. Here each dataloader whose dataset had
    the config's old ``data_root`` gets ``X`` too, so one option moves
    every split (e.g. ``configs/redo/redo_image_folder_cpu.py``'s train and
    val splits of one folder). A dataset root given in ``options`` itself
    (``train_dataloader.dataset.data_root=Y``) wins.

    Args:
        cfg (Config): The config, changed in place.
        options (dict): Parsed ``--cfg-options`` (mmengine's
            ``DictAction``).
    """
    old_root = cfg.get('data_root')
    cfg.merge_from_dict(options)
    new_root = cfg.get('data_root')
    if 'data_root' not in options or new_root == old_root:
        return
    for key in DATALOADERS:
        dataset = (cfg.get(key) or {}).get('dataset')
        if dataset is not None and dataset.get('data_root') == old_root:
            dataset.data_root = new_root


#: The resizing transforms of the project's pipelines and their size keys.
SIZE_KEYS = dict(ResizeShorterSide='size', CenterCrop='crop_size')


def pipeline_at_size(pipeline: list, img_size: int) -> list:
    """A copy of ``pipeline`` with every resize and crop at ``img_size``.

    mmengine writes a base config's ``img_size`` into the base's pipelines
    when it reads the base, so a child config that trains at another size
    derives its pipelines with this (``configs/_base_/datasets/
    *_64x64.py``) instead of writing them out again. Transforms nested in a
    ``transforms`` list (``CachedCompose``) are resized too.

    Args:
        pipeline (list[dict]): Transform configs.
        img_size (int): The new size.

    Returns:
        list[dict]: The pipeline at ``img_size``.
    """
    steps = []
    for step in pipeline:
        if 'transforms' in step:
            step = dict(
                step, transforms=pipeline_at_size(step['transforms'],
                                                  img_size))
        elif step['type'] in SIZE_KEYS:
            step = dict(step, **{SIZE_KEYS[step['type']]: img_size})
        steps.append(step)
    return steps
