"""Networks the engine trains: an MLP for feature vectors, a small ResNet for images."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MLP(nn.Module):
    """Two hidden layers with batch norm and dropout, for tables and embeddings.

    ``forward`` maps ``(n, d)`` standardised features to ``(n, c)`` logits.
    """

    def __init__(self, n_features: int, n_classes: int, *, hidden: int = 256) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_features, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(hidden, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class _ResidualBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class SmallResNet(nn.Module):
    """A ResNet-style CNN: a stem and three residual stages, then global average pooling.

    ``forward`` maps ``(n, C, H, W)`` float images in [0, 1] to ``(n, c)`` logits; any
    input size of 8 pixels or more works because of the global pooling. The stem downsamples
    images above 16 pixels (and pools those above 48) so that the first stage never runs on
    more than about 24x24 positions: training cost stays that of a small image on a CPU.
    """

    def __init__(
        self, in_channels: int, n_classes: int, *, image_size: int, width: int = 32
    ) -> None:
        super().__init__()
        stem_stride = 2 if image_size > 16 else 1
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, stem_stride, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(2) if image_size > 48 else nn.Identity(),
        )
        self.stages = nn.Sequential(
            _ResidualBlock(width, width, 1),
            _ResidualBlock(width, 2 * width, 2),
            _ResidualBlock(2 * width, 4 * width, 2),
        )
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(4 * width, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.dropout(self.embed(x)))

    def embed(self, x: Tensor) -> Tensor:
        """The ``(n, 4 * width)`` pooled features the head reads, for ``(n, C, H, W)`` images."""
        features = self.stages(self.stem(x))
        return torch.flatten(F.adaptive_avg_pool2d(features, 1), 1)


def augment_images(images: Tensor, generator: torch.Generator, *, flip: bool = True) -> Tensor:
    """Random crops (zero padding of 1/8 of the side) and horizontal flips, per sample.

    ``images``: ``(n, C, H, W)``; returns the same shape. Vectorised: one gather per batch.
    """
    n, _, height, width = images.shape
    pad = max(1, height // 8)
    padded = F.pad(images, (pad, pad, pad, pad))
    offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=generator).to(images.device)
    rows = offsets[0][:, None] + torch.arange(height, device=images.device)[None, :]
    cols = offsets[1][:, None] + torch.arange(width, device=images.device)[None, :]
    batch = torch.arange(n, device=images.device)[:, None, None]
    cropped = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    cropped = cropped.permute(0, 3, 1, 2)
    if not flip:
        return cropped.contiguous()
    flips = (torch.rand(n, generator=generator) < 0.5).to(images.device)[:, None, None, None]
    return torch.where(flips, cropped.flip(-1), cropped).contiguous()
