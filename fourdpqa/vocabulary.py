"""Names shared by the procedural source and the params that configure it (a leaf: imports nothing), so neither
has to import the other for them."""

CAMERA_MOTIONS = ("static", "pan", "tilt", "roll", "dolly", "truck", "pedestal", "orbit", "combined", "push_pull")
OBJECT_MOTIONS = ("static", "translate", "forward", "backward", "turn", "rotate_cw", "rotate_ccw", "pass_by")
