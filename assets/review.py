"""Review page: a static HTML page of sampled QA pairs with their marked clip frames (data/review/index.html)."""

import dagster as dg

from dagster_project.resources import PipelineParams
from fourdpqa import layout
from fourdpqa.review import write_review


@dg.asset(group_name="dataset", deps=["training_set", "benchmark"],
          description="Static HTML audit page (one card per sampled QA): data/review/index.html.")
def review_page(pipeline: PipelineParams) -> dg.MaterializeResult:
    params = pipeline.load()
    where = layout.of(params)
    page = write_review(where.dataset, where.review, per_type=params.review.per_type, seed=params.base.seed)
    return dg.MaterializeResult(metadata={"page": dg.MetadataValue.url(page.as_uri()),
                                          "cards": page.read_text().count('<div class="card"')})
