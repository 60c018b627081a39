"""Names shared by the sources and the params that configure them (a leaf: imports nothing), so params can check
them without importing the sources package, which itself imports params."""

# source kind -> module implementing ``raw_videos(root, spec)`` (fourdpqa.sources.ADAPTER_MODULES); one line per kind
SOURCE_KINDS: dict[str, str] = {
    "adt": "fourdpqa.sources.adt",
    "hot3d": "fourdpqa.sources.hot3d",
    "hot3d_clips": "fourdpqa.sources.hot3d_clips",
    "kubric": "fourdpqa.sources.kubric",
    "vkitti2": "fourdpqa.sources.vkitti2",
    "shift": "fourdpqa.sources.shift",
    "recon": "fourdpqa.sources.recon",
}
CAMERA_MOTIONS = ("static", "pan", "tilt", "roll", "dolly", "truck", "pedestal", "orbit", "combined", "push_pull")
OBJECT_MOTIONS = ("static", "translate", "forward", "backward", "turn", "rotate_cw", "rotate_ccw", "pass_by", "convoy")
