"""The model's error type: every refusal carries a message meant for the user."""

from __future__ import annotations

from graph_model.errors import CreditGraphError


class ModelError(CreditGraphError):
    """A model step cannot go on (unobserved label window, no positives, mismatched
    artefact …); the message says why and what to do."""

    http_status = 503
    code = "model_unavailable"
