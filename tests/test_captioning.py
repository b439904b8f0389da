import numpy as np
import pytest
import torch

from rnnlab import captioning, metrics, vision
from rnnlab.datasets import shapes
from rnnlab.text import tokenize


def test_mirror_tokens_swaps_left_and_right_only():
    tokens = tokenize("A red disc to the left of a box on the right")
    assert captioning.mirror_tokens(tokens) == tokenize("A red disc to the right of a box on the left")
    assert captioning.mirror_tokens(["a", "red", "circle", "above"]) == ["a", "red", "circle", "above"]


def test_mirrored_caption_is_true_of_the_flipped_scene():
    scene = {"objects": [
        {"shape": "circle", "colour": "red", "size": "large", "row": 0, "col": 0},
        {"shape": "square", "colour": "blue", "size": "small", "row": 2, "col": 2},
    ]}
    flipped = {"objects": [{**o, "col": 2 - o["col"]} for o in scene["objects"]]}
    caption = "a red circle to the left of a blue square"
    mirrored = " ".join(captioning.mirror_tokens(caption.split()))
    assert metrics.caption_is_true(caption, scene) and not metrics.caption_is_true(caption, flipped)
    assert metrics.caption_is_true(mirrored, flipped)


def test_mirror_tokens_rejects_a_string():
    with pytest.raises(TypeError, match="tokenize it first"):
        captioning.mirror_tokens("a box on the left")


def test_images_to_tensor_shapes_and_normalisation():
    images = np.zeros((2, 8, 6, 3), dtype=np.uint8)
    images[1] = 255
    x = captioning.images_to_tensor(images)
    assert x.shape == (2, 3, 8, 6) and x.dtype == torch.float32
    assert torch.allclose(vision.denormalize(x[1]), torch.ones(3, 8, 6), atol=1e-6)
    assert torch.allclose(x[0, 0], torch.full((8, 6), -0.485 / 0.229))


@pytest.mark.parametrize("bad, message", [
    (np.zeros((8, 8, 3), dtype=np.uint8), "N, H, W, 3"),
    (np.zeros((1, 3, 8, 8), dtype=np.uint8), "N, H, W, 3"),
    (np.zeros((1, 8, 8, 3), dtype=np.float32), "uint8"),
])
def test_images_to_tensor_rejects_bad_arrays(bad, message):
    with pytest.raises(ValueError, match=message):
        captioning.images_to_tensor(bad)


def test_encode_in_batches_matches_one_pass_and_restores_mode():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    net.train()
    images = torch.randn(10, 3, 8, 8)
    out = captioning.encode_in_batches(net, images, batch_size=3, progress=False)
    assert out.shape == (10, 4)
    assert net.training, "the module's train/eval mode must be restored"
    net.eval()
    with torch.no_grad():
        assert torch.allclose(out, net(images), atol=1e-6)
    assert not out.requires_grad


@pytest.mark.parametrize("images, batch_size, message", [
    (torch.randn(3, 8, 8), 2, "N, 3, H, W"),
    (torch.randn(2, 3, 8, 8), 0, "batch_size"),
    (torch.randn(0, 3, 8, 8), 2, "no images"),
])
def test_encode_in_batches_rejects_bad_input(images, batch_size, message):
    with pytest.raises(ValueError, match=message):
        captioning.encode_in_batches(torch.nn.Identity(), images, batch_size, progress=False)


def test_score_captions_on_shapes(small_shapes):
    coco, _ = shapes.load("test", small_shapes)
    refs = captioning.references(coco)
    assert len(refs) == len(coco["images"]) and all(len(r) == 5 for r in refs)
    perfect = captioning.score_captions([r[0] for r in refs], coco)
    assert set(perfect) == {"bleu1", "bleu2", "bleu3", "bleu4", "accuracy"}
    assert perfect["accuracy"] == 1.0 and perfect["bleu4"] > 0.9
    wrong = captioning.score_captions(["a green box"] * len(refs), coco)
    assert wrong["accuracy"] < 0.5 and wrong["bleu4"] < perfect["bleu4"]
    first = captioning.score_captions([r[0] for r in refs[:4]], coco)
    assert first["accuracy"] == 1.0


def test_score_captions_without_scenes_gives_bleu_only():
    coco = {"images": [{"id": 7}], "annotations": [{"image_id": 7, "caption": "a dog on a sofa"}]}
    scores = captioning.score_captions(["a dog on a sofa"], coco)
    assert "accuracy" not in scores and scores["bleu1"] == pytest.approx(1.0)


def test_score_captions_rejects_bad_input():
    coco = {"images": [{"id": 1}, {"id": 2}], "annotations": [{"image_id": 1, "caption": "a cat"}]}
    with pytest.raises(ValueError, match="no caption"):
        captioning.score_captions(["a cat", "a dog"], coco)
    with pytest.raises(ValueError, match="3 captions but only 2 images"):
        captioning.score_captions(["a cat", "a dog", "a cow"], coco)
    with pytest.raises(ValueError, match="'images' and 'annotations'"):
        captioning.references({"annotations": []})


def plain_step(model, optimizer, criterion, inputs, targets):
    """A float32 training step as a student writes it: returns loss.item()."""
    loss = criterion(model(inputs), targets)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def small_model(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 5))


def test_mixed_precision_runs_a_float32_step_unchanged_and_reports_the_true_loss():
    inputs, targets = torch.randn(32, 6, generator=torch.Generator().manual_seed(1)), torch.arange(32) % 5
    reference, model = small_model(0), small_model(0)
    criterion = torch.nn.CrossEntropyLoss()
    want = plain_step(reference, torch.optim.SGD(reference.parameters(), lr=0.5), criterion, inputs, targets)
    amp = captioning.MixedPrecision(torch.optim.SGD(model.parameters(), lr=0.5), criterion, "cpu",
                                    enabled=True, init_scale=1024.0)
    with amp.autocast():
        scaled = plain_step(model, amp, amp.criterion, inputs, targets)
    assert scaled == pytest.approx(1024 * want, rel=1e-2), "the step saw the scaled loss"
    assert amp.true_loss(scaled) == pytest.approx(want, rel=1e-2)
    for mine, theirs in zip(model.parameters(), reference.parameters()):
        assert mine.dtype == torch.float32
        assert torch.allclose(mine, theirs, atol=2e-3), "the update is the float32 one, unscaled"


def test_mixed_precision_skips_an_overflowing_step_and_lowers_the_scale():
    model = small_model(0)
    before = [p.detach().clone() for p in model.parameters()]
    amp = captioning.MixedPrecision(torch.optim.SGD(model.parameters(), lr=0.5),
                                    torch.nn.CrossEntropyLoss(), "cpu", enabled=True, init_scale=2.0 ** 100)
    with amp.autocast():  # 2^100 times the loss: float16 gradients overflow
        plain_step(model, amp, amp.criterion, torch.randn(8, 6), torch.arange(8) % 5)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before)), "no update from inf"
    assert amp.scaler.get_scale() == 2.0 ** 99


def test_mixed_precision_is_off_on_the_cpu_by_default():
    model = small_model(0)
    amp = captioning.MixedPrecision(torch.optim.SGD(model.parameters(), lr=0.5),
                                    torch.nn.CrossEntropyLoss(), torch.device("cpu"))
    with amp.autocast():
        loss = plain_step(model, amp, amp.criterion, torch.randn(8, 6), torch.arange(8) % 5)
    assert not amp.enabled and amp.true_loss(loss) == loss and model[0].weight.dtype == torch.float32
