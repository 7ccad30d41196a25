from .trivial import constant_predictor_metrics, majority_class

__all__ = ['constant_predictor_metrics', 'majority_class']
