import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from rnnlab import plotting, vision  # noqa: E402


def test_normalize_and_denormalize_are_inverse():
    x = torch.rand(2, 3, 8, 8)
    z = vision.normalize(x)
    assert torch.allclose(z[:, 0].mean(), ((x[:, 0] - 0.485) / 0.229).mean())
    assert torch.allclose(vision.denormalize(z), x, atol=1e-6)
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        vision.normalize(torch.rand(8, 8))


def test_sample_image_and_load_image(tmp_path):
    from PIL import Image

    astronaut = vision.sample_image("astronaut")
    assert astronaut.shape == (512, 512, 3)
    Image.fromarray(astronaut).save(tmp_path / "a.png")
    assert vision.load_image(tmp_path / "a.png", size=64).shape == (64, 64, 3)
    with pytest.raises(ValueError, match="skimage.data has no image"):
        vision.sample_image("nobody")
    with pytest.raises(FileNotFoundError):
        vision.load_image(tmp_path / "none.png")


def test_weights_come_from_the_cache_when_present(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("RNNLAB_ALLOW_DOWNLOAD", raising=False)
    model, source = vision.pretrained_model("resnet18", seed=0)
    assert source == "seeded" and "seeded random initialisation" in capsys.readouterr().out
    torch.manual_seed(123)
    reference = vision.torchvision.models.resnet18()
    path = vision.weights_file("resnet18")
    assert path.parent == tmp_path / "hub" / "checkpoints"
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    model, source = vision.pretrained_model("resnet18")
    assert source == "cache"
    assert torch.equal(model.conv1.weight, reference.conv1.weight)


def test_seeded_weights_repeat():
    a, _ = vision.pretrained_model("resnet18", seed=4, allow_download=False)
    b, _ = vision.pretrained_model("resnet18", seed=4, allow_download=False)
    assert torch.equal(a.fc.weight, b.fc.weight)


def test_weights_download_from_a_loopback_server(tmp_path, monkeypatch):
    import http.server
    import threading

    torch.manual_seed(5)
    reference = vision.torchvision.models.resnet18()
    served = tmp_path / "served"
    served.mkdir()
    torch.save(reference.state_dict(), served / "weights.pth")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(served))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "home"))
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/weights.pth"
        model, source = vision.pretrained_model("resnet18", allow_download=True, url=url)
        assert source == "download" and vision.weights_file("resnet18").is_file()
        assert torch.equal(model.fc.weight, reference.fc.weight)
        missing = f"http://127.0.0.1:{server.server_address[1]}/missing.pth"
        monkeypatch.setenv("TORCH_HOME", str(tmp_path / "other"))
        _, source = vision.pretrained_model("resnet18", allow_download=True, url=missing)
        assert source == "seeded"
    finally:
        server.shutdown()


def test_plots_have_titles_and_labels():
    ax = plotting.plot_losses({"RNN": [3, 2, 1], "LSTM": [3, 1.5, 0.5]}, title="t", xlabel="epoch")
    assert ax.get_title() == "t" and ax.get_xlabel() == "epoch" and len(ax.lines) == 2
    fig = plotting.show_images([np.zeros((4, 4, 3))] * 3, ["a red circle"] * 3, ncols=2)
    assert fig.axes[0].get_title() == "a red circle"
    with pytest.raises(ValueError, match="3 images but 1 captions"):
        plotting.show_images([np.zeros((4, 4, 3))] * 3, ["x"])
    with pytest.raises(ValueError, match="no curves"):
        plotting.plot_losses({})
