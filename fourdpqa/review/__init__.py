"""Human review of the dataset (issue 12.6): the review page (:mod:`.page`), the reviewer's answers and
human-label agreement (:mod:`.answers`) and the local server that records them (:mod:`.server`)."""

from fourdpqa.review.answers import ANSWERS, AnswerLog, agreement
from fourdpqa.review.page import sample_for_review, write_review

__all__ = ["ANSWERS", "AnswerLog", "agreement", "sample_for_review", "write_review"]
