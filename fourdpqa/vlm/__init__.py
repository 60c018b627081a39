"""Qwen2.5-VL support: local tokenizer, tiny/real models, video inputs, batched generation."""
