"""Pictures of ReDO: the redraw grid shared by the demo tool and the hook."""
from .folder_comparison import compare_folders_sheet
from .mask_overlay import contact_sheet, overlay_thumbnail
from .redraw_grid import (compute_redraws, draw_redraw_grid, redraw_grid,
                          to_uint8_rgb)
from .review_page import write_review_page

__all__ = [
    'compute_redraws', 'draw_redraw_grid', 'redraw_grid', 'to_uint8_rgb',
    'overlay_thumbnail', 'contact_sheet', 'write_review_page',
    'compare_folders_sheet'
]
