"""Resources bound once: where params.yaml is and which device to use."""

from __future__ import annotations

import dagster as dg

from fourdpqa.params import Params, load_params
from fourdpqa.secrets import install_log_redaction


class PipelineParams(dg.ConfigurableResource):
    """Loads ``params.yaml`` (the same file dvc uses) so both drivers run the same configuration."""

    params_path: str = "params.yaml"
    device: str | None = None  # overrides params base.device (e.g. "cuda" on a GPU code location)
    workers: int = 1  # processes per per-video step of a batch run (the CLI's --workers); FOURDPQA_WORKERS

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        install_log_redaction()  # as the CLI does: no credential reaches a run's logs

    def load(self) -> Params:
        params = load_params(self.params_path)
        if self.device:
            params = params.model_copy(update={"base": params.base.model_copy(update={"device": self.device})})
        return params
