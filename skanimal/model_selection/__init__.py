"""Subject-wise hyper-parameter search with Optuna."""

from ._search import SubjectSearchCV
from ._spaces import SEARCH_SPACES, make_preset_estimator, search_space

__all__ = ["SEARCH_SPACES", "SubjectSearchCV", "make_preset_estimator", "search_space"]
