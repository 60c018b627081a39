"""External benchmarks evaluated with our predictors and answer extractor (VLM4D first)."""
