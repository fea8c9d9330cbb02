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
