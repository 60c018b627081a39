"""The probe network: a few 3-D convolutions over a small clip plus its optical-flow features, trained from
scratch, scoring each answer candidate as a claim about the clip.

score(claim) = MLP([v, q, c, v * c, g]) + (W c) . [m, |m|] with v the clip feature, q / c bag-of-words embeddings
of the question and the claim (an MC option, or a yes / no question itself), g an embedding of the (type, format)
group and m the camera motion predicted from v (the auxiliary target); a softmax over the record's candidates
(4 MC options, or yes against a learned per-group threshold for no) gives the answer.
"""

from __future__ import annotations

import torch
from torch import nn

from fourdpqa.probe.flow_features import FLOW_DIM
from fourdpqa.probe.poses import MOTION_DIM


SHIFT_DIM = 16  # 2 halves x 4 quadrants x (dx, dy)


class ShiftCorrelation(nn.Module):
    """(B, T, 3, S, S) uint8 -> (B, 16) float: where each image quadrant moves between consecutive frames.

    Per consecutive frame pair and quadrant, the normalised correlation of the grey images (halved to S/2) over
    integer shifts up to ``radius`` pixels, turned into an expected shift (dx, dy) by a softmax over the shifts (a
    FlowNet-style correlation layer with no weights). Summed over the first and the second half of the clip, the
    4 quadrants' shifts give pan / tilt (all move alike), zoom i.e. forward / backward (they spread apart or
    gather) and roll (they turn about the centre): the camera motion a few strided convolutions learn poorly from
    the training split's ~100 camera-motion clips."""

    def __init__(self, radius: int = 3, temperature: float = 0.05):
        super().__init__()
        self.radius, self.temperature = radius, temperature
        r = torch.arange(-radius, radius + 1, dtype=torch.float32)
        self.register_buffer("shifts", torch.stack(torch.meshgrid(r, r, indexing="xy"), -1).reshape(-1, 2), persistent=False)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        grey = nn.functional.avg_pool2d(clips.float().mean(2), 2)  # (B, T, S/2, S/2)
        grey = (grey - grey.mean((2, 3), keepdim=True)) / (grey.std((2, 3), keepdim=True) + 1e-3)
        a, b = grey[:, :-1], grey[:, 1:]
        r, h = self.radius, grey.shape[-1]
        inner = a[..., r:h - r, r:h - r]
        corr = torch.stack([(inner * b[..., r + int(dy):h - r + int(dy), r + int(dx):h - r + int(dx)])
                            for dx, dy in self.shifts.tolist()], dim=2)  # (B, T-1, K, H', W')
        half = corr.shape[-1] // 2
        quads = torch.stack([corr[..., :half, :half], corr[..., :half, half:], corr[..., half:, :half],
                             corr[..., half:, half:]], dim=2).mean((-2, -1))  # (B, T-1, 4, K)
        shift = torch.softmax(quads / self.temperature, -1) @ self.shifts  # (B, T-1, 4, 2) pixels of the half image
        mid = shift.shape[1] // 2
        return torch.cat([shift[:, :max(mid, 1)].sum(1), shift[:, mid:].sum(1)], dim=1).flatten(1)


class ClipEncoder(nn.Module):
    """(B, T, 3, S, S) uint8 clips, their (B, 16) :class:`ShiftCorrelation` features and (B, F) standardised flow
    features -> (B, dim). Frame differences are stacked onto the RGB channels so motion is visible to the first
    layer; three strided 3-D convolutions, then an average per image quadrant (so motion that differs between the
    halves of the image, like zoom or roll, stays distinguishable from a shift), joined with the quadrants' measured
    shifts and the clip's optical-flow features (:mod:`fourdpqa.probe.flow_features`). Both feature inputs have no
    weights, so they are computed once per clip view rather than in every batch of every epoch."""

    def __init__(self, width: int, dim: int, flow_dim: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv3d(6, width, kernel_size=(3, 4, 4), stride=(1, 4, 4), padding=(1, 0, 0)), nn.ReLU(),
            nn.Conv3d(width, 2 * width, kernel_size=3, stride=(1, 2, 2), padding=1), nn.ReLU(),
            nn.Conv3d(2 * width, dim, kernel_size=3, stride=2, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool3d((1, 2, 2)), nn.Flatten(),
        )
        self.out = nn.Sequential(nn.Linear(4 * dim + SHIFT_DIM + flow_dim, dim), nn.ReLU())

    def forward(self, clips: torch.Tensor, shift: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        x = clips.float().div(255.0).permute(0, 2, 1, 3, 4)  # (B, 3, T, S, S)
        diff = torch.cat([torch.zeros_like(x[:, :, :1]), x[:, :, 1:] - x[:, :, :-1]], dim=2)
        return self.out(torch.cat([self.net(torch.cat([x - 0.5, diff], dim=1)), shift, flow], dim=1))


class ProbeNet(nn.Module):
    """Scores (B, K) for clips (B, T, 3, S, S) with their shift and flow features, question ids (B, Lq), candidate
    ids (B, K, Lc), groups (B,) and ``yes_no`` (B,) bool, plus the clip's camera motion (B, ``motion_dim``) read
    from the same clip feature (an auxiliary target).

    Every candidate is a claim about the clip scored by one head: an MC option's text, or for a yes / no record
    the question itself, whose "yes" scores the claim and whose "no" a learned threshold per (type, format). So
    "does the camera move left?" and the option "The camera moves left" train the same words against the same
    motion."""

    def __init__(self, vocab_size: int, n_groups: int, width: int = 16, dim: int = 64, flow_dim: int = FLOW_DIM,
                 motion_dim: int = MOTION_DIM):
        super().__init__()
        self.clip = ClipEncoder(width, dim, flow_dim)
        self.motion = nn.Linear(dim, motion_dim)
        self.words = nn.EmbeddingBag(vocab_size, dim, mode="mean", padding_idx=0)
        self.group = nn.Embedding(n_groups, dim)
        self.threshold = nn.Embedding(n_groups, 1)
        nn.init.zeros_(self.threshold.weight)
        self.head = nn.Sequential(nn.Linear(5 * dim, dim), nn.ReLU(), nn.Linear(dim, 1))
        self.expects = nn.Linear(dim, 2 * motion_dim, bias=False)

    def _bag(self, ids: torch.Tensor) -> torch.Tensor:
        flat = ids.reshape(-1, ids.shape[-1])
        return self.words(flat).reshape(*ids.shape[:-1], -1)

    def forward(self, clips: torch.Tensor, shift: torch.Tensor, flow: torch.Tensor, question: torch.Tensor,
                candidates: torch.Tensor, group: torch.Tensor,
                yes_no: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = candidates.shape[1]
        clip = self.clip(clips, shift, flow)
        q = self._bag(question)
        claim = torch.where(yes_no[:, None, None], q[:, None].expand(-1, k, -1), self._bag(candidates))
        v, qk, g = (x[:, None].expand(-1, k, -1) for x in (clip, q, self.group(group)))
        motion = self.motion(clip)
        seen = torch.cat([motion, motion.abs()], dim=-1)[:, None]  # (B, 1, 2M): signed and unsigned motion
        scores = self.head(torch.cat([v, qk, claim, v * claim, g], dim=-1)).squeeze(-1) \
            + (self.expects(claim) * seen).sum(-1)
        no = torch.cat([scores[:, :1], self.threshold(group), scores[:, 2:]], dim=1)
        return torch.where(yes_no[:, None], no, scores), motion
