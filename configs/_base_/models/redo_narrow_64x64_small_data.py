# The narrow 64x64 ReDO of redo_narrow_64x64.py with the small-data recipe's
# model settings (the measurements behind each one:
# configs/redo/README.md#small-data-recipe):
# - ADA-steered differentiable augmentation of every image the
#   discriminator sees (colour, translation by up to 1/8, cutout of half the
#   side): the probability of each starts at 0 and rises only while D is too
#   sure of the real images, so a set that D cannot memorise is left alone.
# - MOVE's minimum-area hinge, keeping every region above 5% of the image
#   (its binarisation term is left out: the previous recipe, with it, fell
#   late on validation in all three runs).
# - Mask consistency: the mask net must give each composite the masks of
#   the photo it was made from.
# - At test time, a guided filter sharpens the object mask along the colour
#   edges of the network's input, upsampled to the output size.
_base_ = ['./redo_narrow_64x64.py']
model = dict(
    augment=dict(
        type='DiffAugment',
        policy=('color', 'translation', 'cutout'),
        p=0.0,
        # Hundreds of photos x 8 real images per iteration: p can go from 0
        # to 1 in 10k real images (a third of a 4000-iteration run), where
        # ADA's 500k suits runs of tens of millions of images.
        adaptive=dict(target=0.6, interval=4, speed_images=10000)),
    mask_priors=dict(min_area=0.05, area_weight=100.0),
    consistency_weight=1.0,
    # Guided filter (He et al.) on the soft object mask: fitted at the
    # network's input size (radius in its pixels) and applied at the output
    # size, guided by the network's input upsampled. Guide channels, eps
    # and radius chosen on Flowers-17 val:
    # configs/redo/README.md#small-data-recipe.
    test_cfg=dict(
        mode='whole',
        guided_filter=dict(radius=32, eps=1e-4, guide_channels='rgb')))
