"""Switching on the codebase's visualization hook from the command line."""
from __future__ import annotations


def enable_visualization(cfg, show_dir: str | None = None, show: bool = False,
                         wait_time: float = 2.0) -> None:
    """Paint every test image (image | ground truth | prediction) into ``show_dir``.

    Uses the config's own ``default_hooks.visualization`` (e.g. mmseg's
    ``SegVisualizationHook``) and visualizer; only the switches change.

    Raises:
        ValueError: the config has no visualization hook to switch on.
    """
    hooks = cfg.get('default_hooks') or {}
    if not hooks.get('visualization'):
        raise ValueError('--show/--show-dir need a "visualization" hook in default_hooks, '
                         "e.g. default_hooks.visualization=dict(type='SegVisualizationHook')")
    hooks.visualization.draw = True
    hooks.visualization.interval = 1  # every batch; the hooks' default paints every 50th
    if show:
        hooks.visualization.show = True
        hooks.visualization.wait_time = wait_time
    if show_dir:
        cfg.visualizer.vis_backends = [dict(type='LocalVisBackend', save_dir=show_dir)]
