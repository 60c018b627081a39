"""review: a static HTML page of sampled QA pairs with their marked clip frames (data/review/index.html)."""

import dagster as dg

from assets.resources import PipelineParams
from assets.runner import run_whole
from fourdpqa import layout
from fourdpqa.stages import review, stage_list

INFO = stage_list.get("review")


@dg.asset(name=INFO.assets[0], group_name=INFO.name, deps=stage_list.upstream_assets(INFO.name),
          description="Static HTML audit page (one card per sampled QA): data/review/index.html.")
def review_page(pipeline: PipelineParams) -> dg.MaterializeResult:
    params = pipeline.load()
    run_whole(review.STAGE, params)
    page = layout.of(params).review_page
    return dg.MaterializeResult(metadata={"page": dg.MetadataValue.url(page.resolve().as_uri()),
                                          "cards": page.read_text().count('<div class="card"')})
