from .depth_metric import AffineInvariantDepthMetric, fit_scale_shift
from .trivial import (
    compare_with_trivial,
    constant_predictor_metrics,
    is_depth_config,
    majority_class,
    mean_depth,
)

__all__ = [
    'compare_with_trivial',
    'AffineInvariantDepthMetric', 'fit_scale_shift', 'constant_predictor_metrics',
    'is_depth_config', 'majority_class', 'mean_depth'
]
