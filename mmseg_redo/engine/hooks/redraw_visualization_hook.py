"""Show, during training, what ReDO's generators paint into its masks."""
import os.path as osp
from typing import Optional, Sequence

import mmcv
from mmengine.dataset import pseudo_collate
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...utils.runner import unwrap_model
from ...visualization import redraw_grid


@HOOKS.register_module()
class RedrawVisualizationHook(Hook):
    """Draw the redraw grid of fixed images every ``interval`` iterations.

    The grid (see :func:`mmseg_redo.visualization.redraw_grid`) shows, for
    the first ``num_images`` validation images (training images when there
    is no validation split): the image, its object mask, ``num_redraws``
    redraws of the object region and as many of the background. The codes
    z are the same at every drawing (seeded by ``seed``, without touching
    the training RNG), so successive pictures show how training changes
    the masks and the generators.

    Each grid is written to ``<work_dir>/<out_dir>/iter_NNNNNN.png`` and
    handed to the runner's visualizer (``add_image('redraws', ...)``), so
    it also reaches every visualization backend, e.g. TensorBoard with
    ``vis_backends=[dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend')]``.

    Args:
        interval (int): Draw every ``interval`` training iterations, and
            after the last one. Defaults to 500.
        num_images (int): Images (grid rows). Defaults to 4.
        num_redraws (int): Redraws per region (and image). Defaults to 3.
        seed (int): Seed of the codes z. Defaults to 0.
        out_dir (str): Folder under the work dir. Defaults to 'redraws'.
        tile_size (int, optional): Side of each tile in pixels. Defaults to
            the image size, at least 96.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 500,
                 num_images: int = 4,
                 num_redraws: int = 3,
                 seed: int = 0,
                 out_dir: str = 'redraws',
                 tile_size: Optional[int] = None) -> None:
        if interval < 1 or num_images < 1 or num_redraws < 1:
            raise ValueError('interval, num_images and num_redraws must be '
                             f'positive, got {interval}, {num_images}, '
                             f'{num_redraws}')
        self.interval = interval
        self.num_images = num_images
        self.num_redraws = num_redraws
        self.seed = seed
        self.out_dir = out_dir
        self.tile_size = tile_size
        self._batch: Optional[dict] = None

    def before_train(self, runner) -> None:
        """Load the fixed images once, through the split's own pipeline."""
        model = unwrap_model(runner.model)
        if not hasattr(model, 'redraw') or not hasattr(model, 'mask_net'):
            raise TypeError(
                'RedrawVisualizationHook needs a ReDO model (with mask_net '
                f'and redraw()), got {type(model).__name__}')
        # The validation pipeline is deterministic (no random crop or flip),
        # so the rows are the same images at every drawing.
        loader = runner.val_dataloader if runner.val_loop is not None \
            else runner.train_dataloader
        dataset = loader.dataset
        indices = range(min(self.num_images, len(dataset)))
        self._batch = pseudo_collate([dataset[i] for i in indices])

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[Sequence] = None) -> None:
        """Draw at every ``interval``-th iteration and at the last one.

        Only the main process draws (every rank would write the same file);
        the drawing runs no collective operation.
        """
        if not is_main_process():
            return
        if self.every_n_train_iters(
                runner, self.interval) or self.is_last_train_iter(runner):
            self.draw(runner)

    def draw(self, runner) -> str:
        """Draw the grid now; return the path of the written PNG."""
        model = unwrap_model(runner.model)
        inputs = model.data_preprocessor(self._batch, False)['inputs']
        names = [
            osp.basename(s.metainfo.get('img_path') or '')
            for s in self._batch['data_samples']
        ]
        grid = redraw_grid(
            model,
            inputs,
            num_redraws=self.num_redraws,
            seed=self.seed,
            tile_size=self.tile_size,
            row_names=names if any(names) else None)
        step = runner.iter + 1
        path = osp.join(runner.work_dir, self.out_dir, f'iter_{step:06d}.png')
        mmcv.imwrite(mmcv.rgb2bgr(grid), path)
        runner.visualizer.add_image('redraws', grid, step=step)
        return path
