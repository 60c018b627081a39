"""Resources bound once: where params.yaml is and which device to use."""

from __future__ import annotations

import dagster as dg

from fourdpqa.params import Params, load_params


class PipelineParams(dg.ConfigurableResource):
    """Loads ``params.yaml`` (the same file dvc uses) so both drivers run the same configuration."""

    params_path: str = "params.yaml"
    device: str | None = None  # overrides params base.device (e.g. "cuda" on a GPU code location)

    def load(self) -> Params:
        from fourdpqa.secrets import install_log_redaction

        install_log_redaction()  # API keys are masked on the Dagster path as on the CLI
        params = load_params(self.params_path)
        if self.device:
            params = params.model_copy(update={"base": params.base.model_copy(update={"device": self.device})})
        return params
