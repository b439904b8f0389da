import pytest
import torch

from rnnlab import runtime


def test_profile_defaults_to_full_and_follows_the_environment(monkeypatch):
    monkeypatch.delenv("RNNLAB_PROFILE", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert runtime.profile() == "full"
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert runtime.profile() == "grading"
    monkeypatch.setenv("RNNLAB_PROFILE", "test")
    assert runtime.profile() == "test"


def test_budget_picks_the_value_of_the_active_profile(monkeypatch):
    monkeypatch.setenv("RNNLAB_PROFILE", "grading")
    assert runtime.budget(full=20, grading=2, test=1) == 2
    monkeypatch.setenv("RNNLAB_PROFILE", "full")
    assert runtime.budget(full=20, grading=2, test=1) == 20


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("RNNLAB_PROFILE", "fast")
    with pytest.raises(ValueError, match="full, grading, test"):
        runtime.profile()


def test_device_is_cpu_here_and_can_be_overridden(monkeypatch):
    monkeypatch.delenv("RNNLAB_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert runtime.device().type in (expected, "mps")
    assert runtime.device("cpu").type == "cpu"
    monkeypatch.setenv("RNNLAB_DEVICE", "cpu")
    assert runtime.device().type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_asking_for_cuda_without_it_says_what_to_do():
    with pytest.raises(ValueError, match="use 'cpu'"):
        runtime.device("cuda")


def test_seed_everything_repeats_random_draws():
    import numpy as np

    runtime.seed_everything(5)
    a = (np.random.rand(3), torch.rand(3))
    runtime.seed_everything(5)
    b = (np.random.rand(3), torch.rand(3))
    assert np.array_equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_data_root_is_in_the_checkout_unless_overridden(monkeypatch, tmp_path, repo):
    monkeypatch.delenv("RNNLAB_DATA", raising=False)
    assert runtime.data_root() == repo / "data" / "generated"
    monkeypatch.setenv("RNNLAB_DATA", str(tmp_path))
    assert runtime.data_root() == tmp_path


def test_setup_prints_one_line_and_returns_a_device(capsys):
    dev = runtime.setup(seed=1, prefer="cpu")
    assert dev.type == "cpu"
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "seed=1" in out


def test_fit_to_time_keeps_the_course_run_and_scales_a_bigger_one(capsys):
    assert runtime.fit_to_time(4000, 4000, epochs=3, seeds=3) == runtime.Plan(None, 3, 3)
    assert capsys.readouterr().out == ""
    # 2x the data: one seed instead of three is enough
    assert runtime.fit_to_time(8000, 4000, epochs=3, seeds=3) == runtime.Plan(None, 3, 1)
    # 9x: one seed, one epoch, all the items (9 units of work of 9 allowed)
    assert runtime.fit_to_time(36000, 4000, epochs=3, seeds=3) == runtime.Plan(None, 1, 1)
    # 30x: one seed, one epoch, the first 36,000 captions
    plan = runtime.fit_to_time(120000, 4000, epochs=3, seeds=3, unit="captions", stated="138 s")
    assert plan == runtime.Plan(36000, 1, 1)
    said = capsys.readouterr().out
    assert "120,000 captions" in said and "138 s" in said and "first 36,000 captions" in said
    assert "WHOLE_RUN = True" in said
    # in between: fewer epochs, every item
    assert runtime.fit_to_time(10000, 4000, epochs=6) == runtime.Plan(None, 2, 1)
    assert runtime.fit_to_time(120000, 4000, epochs=3, seeds=3, whole=True) == runtime.Plan(None, 3, 3)
    # training may take only half the course run's work: 18,000 of the 36,000
    assert runtime.fit_to_time(36000, 4000, epochs=3, seeds=3, share=0.5) == runtime.Plan(18000, 1, 1)
