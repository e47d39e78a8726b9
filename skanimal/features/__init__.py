"""Image transformers that turn face images into feature vectors."""

from ._lbp import LBP_SETTINGS, LBPFeatures, lbp_n_bins, make_lbp_svm

__all__ = ["LBP_SETTINGS", "LBPFeatures", "lbp_n_bins", "make_lbp_svm"]
