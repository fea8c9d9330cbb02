"""Pictures of ReDO: the redraw grid shared by the demo tool and the hook."""
from .redraw_grid import (compute_redraws, draw_redraw_grid, redraw_grid,
                          to_uint8_rgb)

__all__ = [
    'compute_redraws', 'draw_redraw_grid', 'redraw_grid', 'to_uint8_rgb'
]
