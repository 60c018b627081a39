"""fourdpqa: 4D-annotated videos -> 4D perception QA data, validated, trained on and evaluated (see docs/DESIGN.md)."""
