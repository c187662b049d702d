"""Errors of the finance domain (credit scoring)."""

from __future__ import annotations

from pubdata.errors import Conflict, Invalid, NotFound


class InvalidModelFile(Invalid):
    """A scorecard model file that cannot be used; ``details`` names every problem by its path."""

    code = "finance.invalid_model_file"


class ModelNotFound(NotFound):
    code = "finance.model_not_found"


class ScoresNotRun(NotFound):
    """No finished score run of the model over the current facts version yet."""

    code = "finance.scores_not_run"


class ScoreNotFound(NotFound):
    """The enterprise has no score (or the caller may not see it: reported alike)."""

    code = "finance.score_not_found"


class ScoringFailed(Invalid):
    code = "finance.scoring_failed"


class ScoreRunConflict(Conflict):
    code = "finance.score_run_conflict"


class InvalidOutcomes(Invalid):
    """Outcomes a scorecard cannot be fitted on (unknown enterprises, one class only, too few)."""

    code = "finance.invalid_outcomes"


class FitFailed(Invalid):
    code = "finance.fit_failed"
