"""Source adapters (raw dataset layouts -> standard scenes) and the built-in procedural source.

``procedural`` + ``render`` generate Kubric-format raw dumps; ``kubric`` reads Kubric worker directories;
``vkitti2`` reads Virtual KITTI 2 sequences. ``fourdpqa.stages.standardize`` maps each ``standardize.sources``
entry (by its ``kind``) to one of these adapters.
"""
