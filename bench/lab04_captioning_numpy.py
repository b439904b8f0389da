"""Lab 04 bench: the solution notebook run under the full profile, its own figures read back.

`run_notebook` executes solutions/04_captioning_rnn_numpy in a fresh kernel, top to bottom (one
BLAS thread, as its set-up cell sets), and collects from the notebook's variables:
  - full_profile_wall_s: the wall time of the notebook's cells;
  - overfit50_{rnn,lstm}_final_loss and _s: sections 7 and 8, 50 captions learnt by heart
    (lstm_hidden: the LSTM's size);
  - grad_<model>_<trained|untrained>_<dh|dc>_<k>_back: section 8, the mean norm of dL/dh_t (dL/dc_t)
    k steps before the last one when a unit gradient enters the last hidden state;
  - full_training_steps, full_training_final_loss: section 9's training;
  - <split>_<shapes>_<figure>: section 9's evaluation table (images, in_training, accuracy,
    unseen_accuracy, blind_accuracy, blind_unseen_accuracy; None where no image qualifies).
runs: how many executions the figures rest on (one).
"""

from __future__ import annotations

from pathlib import Path

from bench._notebook import run_notebook

NOTEBOOK = (Path(__file__).resolve().parent.parent / "solutions" / "04_captioning_rnn_numpy"
            / "captioning_rnn_numpy.ipynb")
COLLECT = {
    "overfit50_rnn_final_loss": "small_rnn_solver.loss_history[-1]",
    "overfit50_rnn_s": "rnn_seconds",
    "overfit50_lstm_final_loss": "small_lstm_solver.loss_history[-1]",
    "overfit50_lstm_s": "lstm_seconds",
    "lstm_hidden": "LSTM_HIDDEN",
    "gradient_norms": "{label: norms.tolist() for label, norms in gradient_norms.items()}",
    "full_training_steps": "len(solver.loss_history)",
    "full_training_final_loss": "solver.loss_history[-1]",
    "evaluation": "evaluation",
}
STEPS_BACK = (1, 2, 11, 22)  # the gradient norms recorded, in steps before the last one


def gradient_figures(gradient_norms: dict[str, list[float]]) -> dict[str, float]:
    """{"RNN trained, dL/dh": [norm 0, 1, ... steps back]} -> {"grad_rnn_trained_dh_1_back": ...}"""
    out = {}
    for label, norms in gradient_norms.items():
        name = label.lower().replace(",", "").replace("dl/d", "d").replace(" ", "_")
        out.update({f"grad_{name}_{k}_back": float(f"{norms[k]:.3g}") for k in STEPS_BACK})
    return out


def evaluation_figures(evaluation: dict[str, dict]) -> dict:
    """{"val_2": {"accuracy": 0.41, ...}} -> {"val_2_accuracy": 0.41, ...}"""
    return {f"{group}_{name}": round(value, 4) if isinstance(value, float) else value
            for group, row in evaluation.items() for name, value in row.items()}


def run() -> dict:
    figures = run_notebook(NOTEBOOK, COLLECT, profile="full")
    out = {"runs": 1, "full_profile_wall_s": figures.pop("wall_s")}
    out.update(gradient_figures(figures.pop("gradient_norms")))
    out.update(evaluation_figures(figures.pop("evaluation")))
    out.update({name: round(value, 4) if isinstance(value, float) else value
                for name, value in figures.items()})
    return out


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:48s} {value}")
