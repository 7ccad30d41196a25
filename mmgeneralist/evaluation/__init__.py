from .depth_metric import AffineInvariantDepthMetric, fit_scale_shift
from .image_quality import ImageQualityMetric
from .multi_task_evaluator import MultiTaskEvaluator
from .trivial import (
    compare_with_trivial,
    constant_predictor_metrics,
    is_depth_config,
    majority_class,
    mean_depth,
    multi_task_trivial_metrics,
)

__all__ = [
    'compare_with_trivial',
    'AffineInvariantDepthMetric', 'fit_scale_shift', 'ImageQualityMetric',
    'MultiTaskEvaluator',
    'constant_predictor_metrics',
    'is_depth_config', 'majority_class', 'mean_depth', 'multi_task_trivial_metrics'
]
