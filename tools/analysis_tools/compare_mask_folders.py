"""Compare folders of masks of the same photos on one contact sheet.

A command line over
:func:`mmseg_redo.visualization.folder_comparison.compare_folders_sheet`:
one row per output folder of ``tools/segment_folder.py`` (each method's
masks outlined as on its review page), one column per photo, the photos
evenly spread over the folders' shared photos by path.

Example:
    python tools/analysis_tools/compare_mask_folders.py sheet.jpg \
        "GrabCut 128=gc128_out" "ReDO=redo_out" "recipe=recipe_out" --num 8
"""
import argparse

import mmcv

from mmseg_redo.visualization.folder_comparison import compare_folders_sheet


def label_and_folder(text: str):
    """``LABEL=FOLDER`` as a pair."""
    if '=' not in text:
        raise argparse.ArgumentTypeError(
            f'{text!r}: write each folder as LABEL=FOLDER, for example '
            '"ReDO=work_dirs/seg/redo_out"')
    label, folder = text.split('=', 1)
    return label, folder


def main() -> None:
    """Write the sheet and print the photos on it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', help='the sheet (.jpg or .png)')
    parser.add_argument(
        'folders',
        nargs='+',
        type=label_and_folder,
        help='LABEL=FOLDER, one per row, top to bottom')
    parser.add_argument('--num', type=int, default=8, help='photos (columns)')
    args = parser.parse_args()
    sheet, photos = compare_folders_sheet(args.folders, args.num)
    mmcv.imwrite(sheet, args.out)
    print(f'{args.out}: {len(args.folders)} rows x {len(photos)} photos: '
          + ', '.join(photos))


if __name__ == '__main__':
    main()
