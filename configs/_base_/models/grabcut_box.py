# GrabCut (OpenCV) from a centred box, 5 iterations: the label-free baseline
# of ../shared/data/flowers17/README.md, and the student's teacher. Nothing
# is trained. The box leaves 10% of each side out; OpenCV's RNG is seeded
# before every image (GrabCut's k-means start is random: the Flowers-17
# test IoU moves by about +-0.01 between seeds).
model = dict(
    type='GrabCutSegmentor',
    margin=0.1,
    iterations=5,
    seed=0,
    # GrabCut takes the loaders' BGR pixels as they are.
    data_preprocessor=dict(
        type='SegDataPreProcessor', bgr_to_rgb=False, size_divisor=1))
