"""Your own photos, no labels: ImageFolderDataset, its configs, one run.

Every folder is generated in ``tmp_path``: nested folders, every supported
format in mixed case, mixed sizes, grayscale, RGBA, palette and 16-bit
files, a truncated JPEG and a zero-byte PNG.
"""
import hashlib
import io
import logging
import os.path as osp
import shutil
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch
import pytest
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from PIL import Image
from conftest import REPO_ROOT, run_tool, save_untrained_checkpoint

from mmseg.registry import METRICS
from mmseg_redo.datasets import ImageFolderDataset, LoadImageFromFileChecked
from mmseg_redo.datasets.image_folder import held_out_count
from mmseg_redo.utils import merge_cfg_options
from mmseg_redo.utils.config import pipeline_at_size

init_default_scope('mmseg')

REPO = Path(REPO_ROOT)
CPU_CONFIG = REPO / 'configs' / 'redo' / 'redo_image_folder_cpu.py'
GPU_CONFIG = REPO / 'configs' / 'redo' / 'redo_image_folder.py'
#: Broken files of the generated folder, relative to it.
BROKEN = ('holiday/cut.jpg', 'empty.png')
#: Generic photos cycle through these folders and endings.
FOLDERS = ('', 'holiday', 'holiday/day 2')
ENDINGS = ('.jpg', '.JPEG', '.png', '.bmp', '.webp', '.tif', '.TIFF')


def _rgb(rng: np.random.Generator, index: int) -> np.ndarray:
    height, width = 12 + 3 * (index % 5), 16 + 5 * (index % 4)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def _special_images(rng: np.random.Generator) -> Dict[str, Image.Image]:
    """Files whose mode the loader has to convert to 3 channels."""
    gray = rng.integers(0, 256, (14, 18), dtype=np.uint8)
    rgba = np.dstack([_rgb(rng, 1), np.full((15, 21), 90, np.uint8)])
    return {
        'gray.png': Image.fromarray(gray),
        'holiday/gray.jpg': Image.fromarray(gray),
        'rgba.png': Image.fromarray(rgba, 'RGBA'),
        'holiday/day 2/rgba.webp': Image.fromarray(rgba, 'RGBA'),
        'palette.png': Image.fromarray(_rgb(rng, 2)).convert(
            'P', palette=Image.Palette.ADAPTIVE, colors=16),
        'deep16.png': Image.fromarray(gray.astype(np.uint16) * 257),
    }


def _write(root: Path, images: Dict[str, Image.Image]) -> List[str]:
    for name, img in images.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        img.save(root / name)
    return sorted(images)


def add_photos(root: Path, count: int, seed: int) -> List[str]:
    """Write ``count`` RGB photos of mixed formats, sizes and folders.

    Returns:
        list[str]: Their paths relative to ``root``, sorted.
    """
    rng = np.random.default_rng(seed)
    images = {}
    for i in range(count):
        name = f'photo_{seed}_{i:02d}{ENDINGS[i % len(ENDINGS)]}'
        images[osp.join(FOLDERS[i % len(FOLDERS)], name)] = Image.fromarray(
            _rgb(rng, i))
    return _write(root, images)


def make_photo_folder(root: Path, num_generic: int = 18) -> List[str]:
    """Write a folder of photos with two broken files and some non-images.

    Args:
        root (Path): The folder.
        num_generic (int): RGB photos besides the 6 special ones.

    Returns:
        list[str]: The readable images, relative to ``root``, sorted.
    """
    rng = np.random.default_rng(0)
    good = _write(root, _special_images(rng)) + add_photos(
        root, num_generic, seed=0)
    jpeg = io.BytesIO()
    Image.fromarray(_rgb(rng, 3)).save(jpeg, format='JPEG', quality=90)
    (root / BROKEN[0]).write_bytes(jpeg.getvalue()[:len(jpeg.getvalue()) // 2])
    (root / BROKEN[1]).write_bytes(b'')
    # Not images, or hidden: never listed.
    (root / 'notes.txt').write_text('not an image')
    (root / '._gray.png').write_bytes(b'\x00\x05\x16\x07 macOS resource fork')
    (root / '.thumbnails').mkdir()
    shutil.copy(root / 'gray.png', root / '.thumbnails' / 'gray.png')
    return sorted(good)


def _names(dataset: ImageFolderDataset, root: Path) -> List[str]:
    return sorted(
        osp.relpath(dataset.get_data_info(i)['img_path'], root)
        for i in range(len(dataset)))


def _split(root: Path) -> Dict[str, List[str]]:
    return {
        split: _names(
            ImageFolderDataset(data_root=str(root), split=split), root)
        for split in ('train', 'val', 'all')
    }


class _Records(logging.Handler):
    """Keeps the records of the current MMLogger (it does not propagate)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def log_records():
    handler = _Records()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


@pytest.fixture(scope='module')
def photos(tmp_path_factory) -> Path:
    """A generated folder (shared by the tests that only read it)."""
    root = tmp_path_factory.mktemp('photos')
    make_photo_folder(root)
    return root


# --------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------
def test_held_out_count_scales_with_folder():
    assert [held_out_count(n) for n in (20, 45, 100, 1999, 2000, 50000)
            ] == [4, 4, 10, 200, 200, 200]
    assert held_out_count(100, fraction=0.2, minimum=2, maximum=15) == 15


def test_split_rule_partition_and_size(tmp_path):
    good = make_photo_folder(tmp_path)
    splits = _split(tmp_path)
    assert splits['all'] == good
    assert not set(splits['train']) & set(splits['val'])
    assert sorted(splits['train'] + splits['val']) == good
    # The documented rule: the held_out_count(files) files whose SHA-1 of
    # the path inside the folder is smallest, broken ones then skipped.
    listed = good + list(BROKEN)
    ranked = sorted(
        listed, key=lambda p: hashlib.sha1(p.encode('utf-8')).hexdigest())
    held_out = ranked[:held_out_count(len(listed))]
    assert splits['val'] == sorted(set(held_out) - set(BROKEN))
    assert len(splits['val']) >= 3


def test_split_is_stable_across_places_and_added_files(tmp_path):
    root = tmp_path / 'photos'
    make_photo_folder(root)
    before = _split(root)
    # Same membership wherever the folder lies.
    moved = tmp_path / 'elsewhere' / 'copy'
    shutil.copytree(root, moved)
    assert _split(moved) == before
    # 10 more photos: the held-out count stays 4 (26 and 36 files), so no
    # old training photo joins validation, and an old validation photo
    # only leaves it for a new photo that ranks before it.
    added = set(add_photos(root, 10, seed=1))
    after = _split(root)
    assert set(after['all']) == set(before['all']) | added
    assert set(before['train']) <= set(after['train'])
    left = set(before['val']) - set(after['val'])
    assert len(left) == len(set(after['val']) & added)
    assert set(after['val']) <= set(before['val']) | added


def test_too_few_images_or_bad_arguments(tmp_path):
    root = tmp_path / 'few'
    make_photo_folder(root, num_generic=11)  # 17 readable + 2 broken
    with pytest.raises(ValueError, match='19 images.*at least 20.*Add'):
        ImageFolderDataset(data_root=str(root), split='train')
    assert len(ImageFolderDataset(data_root=str(root), split='all')) == 17
    with pytest.raises(ValueError, match="split must be one of.*'test'"):
        ImageFolderDataset(data_root=str(root), split='test')
    with pytest.raises(ValueError, match='has no masks'):
        ImageFolderDataset(data_root=str(root), require_masks=True)
    (tmp_path / 'texts').mkdir()
    (tmp_path / 'texts' / 'a.txt').write_text('x')
    with pytest.raises(FileNotFoundError, match='no image .*texts'):
        ImageFolderDataset(data_root=str(tmp_path / 'texts'))


# --------------------------------------------------------------------------
# Broken files and loading
# --------------------------------------------------------------------------
def test_broken_files_are_named_in_one_warning_and_skipped(
        photos, log_records):
    dataset = ImageFolderDataset(data_root=str(photos), split='all')
    assert not set(BROKEN) & set(_names(dataset, photos))
    warnings = [r for r in log_records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert '2 of the 26 files' in message
    for name in BROKEN:
        assert name in message


def test_strict_mode_refuses_broken_files_by_name(photos):
    with pytest.raises(ValueError) as info:
        ImageFolderDataset(
            data_root=str(photos), split='all', skip_broken=False)
    for name in BROKEN:
        assert name in str(info.value)
    assert 'skip_broken=True' in str(info.value)


def test_every_image_loads_as_three_channels(photos):
    dataset = ImageFolderDataset(data_root=str(photos), split='all')
    load = LoadImageFromFileChecked(color_type='color')
    for index in range(len(dataset)):
        path = dataset.get_data_info(index)['img_path']
        img = load(dict(img_path=path))['img']
        with Image.open(path) as source:
            assert img.shape == (source.height, source.width, 3)
            assert img.dtype == np.uint8
            pixels = np.asarray(source)
            if source.mode == 'I;16':  # scaled to 8 bits, not clipped
                np.testing.assert_array_equal(img[..., 0], pixels >> 8)
            elif source.mode in ('L', 'RGBA'):
                np.testing.assert_array_equal(
                    img[..., ::-1], np.asarray(source.convert('RGB')))


# --------------------------------------------------------------------------
# Configs: one option for the folder, one short run
# --------------------------------------------------------------------------
@pytest.mark.parametrize('config', [CPU_CONFIG, GPU_CONFIG])
def test_one_data_root_option_reaches_train_and_val(config):
    cfg = Config.fromfile(str(config))
    plain = cfg.copy()
    plain.merge_from_dict(dict(data_root='/my/photos'))
    # mmengine alone: the dataloaders keep the root the file was read with.
    assert plain.train_dataloader.dataset.data_root == 'data/my_photos'
    merge_cfg_options(cfg, dict(data_root='/my/photos'))
    assert cfg.train_dataloader.dataset.data_root == '/my/photos'
    assert cfg.val_dataloader.dataset.data_root == '/my/photos'
    assert [cfg.train_dataloader.dataset.split,
            cfg.val_dataloader.dataset.split] == ['train', 'val']
    assert cfg.test_dataloader is None and cfg.test_cfg is None
    assert cfg.default_hooks.checkpoint.save_best == 'label_free_score'
    # A dataset root given explicitly wins.
    cfg = Config.fromfile(str(config))
    merge_cfg_options(
        cfg, {
            'data_root': '/my/photos',
            'val_dataloader.dataset.data_root': '/other'
        })
    assert cfg.val_dataloader.dataset.data_root == '/other'


@pytest.mark.slow
def test_train_tool_takes_the_data_root_verbatim(tmp_path):
    """--data-root keeps spaces and commas (mmengine's --cfg-options would
    drop the one and split at the other): the missing folder is named as
    given."""
    root = str(tmp_path / 'My Photos, 2024')
    run = run_tool('tools/train.py', CPU_CONFIG, '--data-root', root,
                   '--work-dir', tmp_path / 'work', timeout=300)
    assert run.returncode != 0
    assert f'data root {root} of ImageFolderDataset does not exist' \
        in run.stderr


@METRICS.register_module()
class UnlabelledValProbe(BaseMetric):
    """Records what the validation samples hold (test-only evaluator)."""

    #: The records of the last evaluation.
    seen: List[dict] = []

    def process(self, data_batch: dict, data_samples: List[dict]) -> None:
        for sample in data_samples:
            self.results.append(
                dict(
                    img_path=sample['img_path'],
                    has_gt='gt_sem_seg' in sample,
                    logits=tuple(sample['seg_logits']['data'].shape),
                    pred=tuple(sample['pred_sem_seg']['data'].shape)))

    def compute_metrics(self, results: List[dict]) -> dict:
        UnlabelledValProbe.seen = list(results)
        return {}


def _tiny_config(directory: Path) -> str:
    """The CPU folder config with tiny networks at 16x16, as a file."""
    cfg = Config.fromfile(str(CPU_CONFIG))
    cfg.merge_from_dict({
        'model.z_dim': 4,
        'model.mask_net.encoder': dict(channels=8, num_res_blocks=1),
        'model.mask_net.head': dict(
            in_channels=8, channels=8, pool_scales=(1, 2),
            norm_cfg=dict(type='GN', num_groups=4)),
        'model.region_generators.generator': dict(
            img_size=16, z_dim=4, base_channels=4),
        'model.discriminator': dict(base_channels=4, num_down_blocks=2),
        'model.z_encoder': dict(
            out_features=8, base_channels=4, num_down_blocks=2),
        'train_cfg': dict(max_iters=3, val_interval=3),
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 3,
        'default_hooks.redraw.interval': 3,
        'visualizer.vis_backends': [dict(type='LocalVisBackend')],
        'randomness': dict(seed=0),
    })
    for key in ('train_dataloader', 'val_dataloader'):
        cfg[key].update(batch_size=4, num_workers=0, persistent_workers=False)
        cfg[key].dataset.pipeline = pipeline_at_size(
            cfg[key].dataset.pipeline, 16)
    # The config's label-free metric, and a probe of the samples it gets.
    cfg.val_evaluator = [cfg.val_evaluator, dict(type='UnlabelledValProbe')]
    path = directory / 'tiny_image_folder.py'
    cfg.dump(str(path))
    return str(path)


def test_training_run_with_unlabelled_validation(tmp_path):
    photos = tmp_path / 'my photos'
    make_photo_folder(photos)
    UnlabelledValProbe.seen = []
    # What tools/train.py does with --data-root and --work-dir.
    cfg = Config.fromfile(_tiny_config(tmp_path))
    merge_cfg_options(cfg, dict(data_root=str(photos)))
    cfg.work_dir = str(tmp_path / 'work')
    Runner.from_cfg(cfg).train()

    val = ImageFolderDataset(data_root=str(photos), split='val')
    seen = UnlabelledValProbe.seen
    assert sorted(s['img_path'] for s in seen) == sorted(
        val.get_data_info(i)['img_path'] for i in range(len(val)))
    for sample in seen:
        assert not sample['has_gt']
        # Background/object log-probabilities at the 16x16 crop.
        assert sample['logits'] == (2, 16, 16)
        assert sample['pred'] == (1, 16, 16)
    work_dir = tmp_path / 'work'
    assert (work_dir / 'iter_3.pth').is_file()
    assert list(work_dir.glob('best_label_free_score_iter_3.pth'))


def test_resumed_run_keeps_the_label_free_score_of_its_first_evaluation(
        tmp_path):
    """After --resume, the label-free score's stability compares with the
    masks of the evaluation before the checkpoint, so the first evaluation
    is not scored 0 (and can still become the best checkpoint)."""
    photos = tmp_path / 'photos'
    make_photo_folder(photos)
    stability = {}
    for name, max_iters in (('first', 3), ('resumed', 6)):
        cfg = Config.fromfile(_tiny_config(tmp_path))
        merge_cfg_options(cfg, dict(data_root=str(photos)))
        cfg.work_dir = str(tmp_path / 'work')
        cfg.train_cfg.max_iters = max_iters
        cfg.resume = name == 'resumed'
        # A hub of its own: nothing is carried over but the checkpoint.
        cfg.experiment_name = name
        runner = Runner.from_cfg(cfg)
        runner.train()
        stability[name] = runner.message_hub.get_scalar(
            'val/lf_stability').current()
    assert stability['first'] == 0.0  # nothing to compare with yet
    assert stability['resumed'] > 0


def test_label_folder_gives_masks_and_leaves_unlabelled_photos_out(tmp_path):
    """seg_map_dir: labels named as segment_folder names its masks."""
    rng = np.random.default_rng(7)
    photos = _write(tmp_path / 'photos', {
        'a.jpg': Image.fromarray(_rgb(rng, 0)),
        'a.png': Image.fromarray(_rgb(rng, 0)),  # same stem: a.png.png
        'sub/b.png': Image.fromarray(_rgb(rng, 3)),
    })
    labels = tmp_path / 'labels'
    for rel, name in (('a.jpg', 'a.jpg.png'), ('sub/b.png', 'sub/b.png')):
        height, width = np.asarray(Image.open(tmp_path / 'photos' / rel)
                                   ).shape[:2]
        label = np.zeros((height, width), np.uint8)
        label[:, :width // 2] = 1
        label[0] = 255
        (labels / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(label).save(labels / name)
    dataset = ImageFolderDataset(
        data_root=str(tmp_path / 'photos'), seg_map_dir=str(labels),
        pipeline=[dict(type='LoadImageFromFileChecked'),
                  dict(type='LoadObjectMask'),
                  dict(type='PackSegInputs')])
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [osp.relpath(i['img_path'], tmp_path / 'photos')
            for i in infos] == ['a.jpg', 'sub/b.png']
    assert [osp.relpath(i['seg_map_path'], labels)
            for i in infos] == ['a.jpg.png', 'sub/b.png']
    gt = dataset[1]['data_samples'].gt_sem_seg.data[0].numpy()
    assert set(np.unique(gt)) == {0, 1, 255}
    assert len(photos) == 3
    with pytest.raises(FileNotFoundError, match='no label file'):
        ImageFolderDataset(data_root=str(tmp_path / 'photos'),
                           seg_map_dir=str(tmp_path / 'nowhere'))


def test_folder_config_refines_photos_with_seeded_grabcut(
        tmp_path, monkeypatch):
    """Segmenting a photo with the CPU folder config keeps it at 192 and
    refits ReDO's mask to it with GrabCut, at the photo's size."""
    from mmseg.apis import inference_model, init_model
    checkpoint = save_untrained_checkpoint(
        str(CPU_CONFIG), str(tmp_path / 'untrained.pth'), object_index=1)
    photo = tmp_path / 'photo.jpg'
    rng = np.random.default_rng(3)
    Image.fromarray(_rgb(rng, 4)).resize((300, 240)).save(photo)
    model = init_model(str(CPU_CONFIG), checkpoint, device='cpu')
    assert model.test_cfg.grabcut.seed_threshold == 0.9
    result = inference_model(model, str(photo))
    assert result.photo_img.shape == (192, 240, 3)
    assert result.pred_sem_seg.shape == (240, 300)
    # GrabCut's mask, and logits that average it with ReDO's probability.
    refined = result.seg_logits.data.softmax(dim=0)[1]
    assert torch.equal(refined.gt(0.5).long(), result.pred_sem_seg.data[0])
    # ReDO's masks alone, as the config's comment says.
    from mmseg_redo.models import refinement
    calls = []
    monkeypatch.setattr(refinement, 'refine_with_grabcut',
                        lambda *args, **kwargs: calls.append(args))
    inference_model(model, str(photo))
    assert len(calls) == 1
    plain = init_model(
        str(CPU_CONFIG), checkpoint, device='cpu',
        cfg_options={'model.test_cfg.grabcut': None})
    inference_model(plain, str(photo))
    assert len(calls) == 1
