from .depth_metric import AffineInvariantDepthMetric, fit_scale_shift
from .trivial import constant_predictor_metrics, is_depth_config, majority_class, mean_depth

__all__ = [
    'AffineInvariantDepthMetric', 'fit_scale_shift', 'constant_predictor_metrics',
    'is_depth_config', 'majority_class', 'mean_depth'
]
