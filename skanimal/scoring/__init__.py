"""Score new animals: per-image predictions, % pain per animal over time, reports.

Apply a fitted (or :func:`skanimal.load_model`-loaded) model to images or video
frames of animals it has never seen, discard the unconfident images, and
summarise per animal as the aMGS paper does (Tuttle et al., 2018).
"""

from ._score import (
    predict_images,
    score_animals,
    score_videos,
    summarize_predictions,
    timecourse_figure,
)

__all__ = ["predict_images", "score_animals", "score_videos", "summarize_predictions",
           "timecourse_figure"]
