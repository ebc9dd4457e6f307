import pytest
import torch

from worker.engine.models import MLP, SmallResNet, augment_images


@pytest.mark.parametrize("size", [8, 28, 64])
def test_the_resnet_takes_any_image_size_and_its_head_reads_its_embedding(size):
    torch.manual_seed(0)
    model = SmallResNet(3, 5, image_size=size).eval()
    images = torch.rand(4, 3, size, size)
    embedding = model.embed(images)
    assert embedding.shape == (4, 128)
    torch.testing.assert_close(model(images), model.head(embedding))


def test_the_mlp_maps_features_to_logits():
    assert MLP(12, 4).eval()(torch.randn(6, 12)).shape == (6, 4)


def test_augmentation_crops_and_flips_each_image_on_its_own():
    images = torch.arange(2 * 16 * 16, dtype=torch.float32).reshape(2, 1, 16, 16)
    augmented = augment_images(images, torch.Generator().manual_seed(3))
    assert augmented.shape == images.shape
    assert not torch.equal(augmented, images)
    # A crop of the zero-padded image: every value is the image's or padding.
    for original, moved in zip(images, augmented, strict=True):
        assert set(moved.unique().tolist()) <= set(original.unique().tolist()) | {0.0}
