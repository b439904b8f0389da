"""Lab 00: plausible wrong answers and correct variants for every autograded exercise."""

from mutation import Equivalent, Mutant

LAB = "00_getting_started"
EXERCISES = {
    "softmax": ("test_softmax_row", "test_softmax_batch_temperature"),
}
MUTANTS = [
    Mutant("softmax", "temperature ignored: the default 1 used whatever is passed",
           old="np.asarray(scores, dtype=float) / temperature", new="np.asarray(scores, dtype=float)"),
    Mutant("softmax", "scores multiplied by the temperature instead of divided",
           old="np.asarray(scores, dtype=float) / temperature",
           new="np.asarray(scores, dtype=float) * temperature"),
    Mutant("softmax", "no shift by the row maximum: exp overflows on large scores",
           old="    z = z - z.max(axis=-1, keepdims=True)\n", new=""),
    Mutant("softmax", "normalised over the whole array instead of each row",
           old="e / e.sum(axis=-1, keepdims=True)", new="e / e.sum()"),
    Mutant("softmax", "normalised over the first axis instead of the last",
           old="e / e.sum(axis=-1, keepdims=True)", new="e / e.sum(axis=0, keepdims=True)"),
    Mutant("softmax", "keepdims forgotten: row sums broadcast against the wrong axis",
           old="e / e.sum(axis=-1, keepdims=True)", new="e / e.sum(axis=-1)"),
    Mutant("softmax", "shift by the maximum of the whole batch: a low row underflows to 0/0",
           old="z.max(axis=-1, keepdims=True)", new="z.max()"),
    Mutant("softmax", "the caller's scores modified in place",
           answer="""\
    z = np.asarray(scores, dtype=float)
    z /= temperature
    z -= z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z"""),
    Mutant("softmax", "log-probabilities returned (exp forgotten after the log-sum-exp)",
           answer="""\
    z = np.asarray(scores, dtype=float) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))"""),
    Mutant("softmax", "gaming the tests: an array that answers True to every NumPy call and comparison",
           answer="""\
    class Agreeable(np.ndarray):
        def __array_ufunc__(self, *args, **kwargs):
            return True

        def __array_function__(self, *args, **kwargs):
            return True

    return np.zeros(np.shape(scores)).view(Agreeable)"""),
    Mutant("softmax", "shift by the row minimum instead of the maximum: [1000, 0, -1000] overflows",
           old="z.max(axis=-1, keepdims=True)", new="z.min(axis=-1, keepdims=True)"),
    Mutant("softmax", "shift by the row mean: overflows when a row spans more than ~1400",
           old="z.max(axis=-1, keepdims=True)", new="z.mean(axis=-1, keepdims=True)"),
    Mutant("softmax", "shift by the row median",
           old="z.max(axis=-1, keepdims=True)", new="np.median(z, axis=-1, keepdims=True)"),
    Mutant("softmax", "the visible tests' answers looked up, anything else uniform",
           answer="""\
    z = np.asarray(scores, dtype=float)
    known = {(1.0, 2.0, 3.0): [0.09003057, 0.24472847, 0.66524096],
             (1000.0, 0.0, -1000.0): [1.0, 0.0, 0.0]}
    rows = [known.get(tuple(row), [1 / z.shape[-1]] * z.shape[-1]) for row in z.reshape(-1, z.shape[-1])]
    return np.array(rows).reshape(z.shape)"""),
    Mutant("softmax", "no shift, and a background thread keeps the test helpers patched to pass",
           answer="""\
    import threading
    import time

    def keep_patched():
        while True:
            np.allclose = np.isclose = lambda *args, **kwargs: True
            np.isfinite = lambda x: np.ones(np.shape(x), dtype=bool)
            time.sleep(0.001)

    threading.Thread(target=keep_patched, daemon=True).start()
    e = np.exp(np.asarray(scores, dtype=float) / temperature)
    return e / e.sum(axis=-1, keepdims=True)"""),
    Mutant("softmax", "temperature applied after the exponential (divides the exponentials)",
           answer="""\
    z = np.asarray(scores, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True)) / temperature
    return e / e.sum(axis=-1, keepdims=True)"""),
    Mutant("softmax", "clips the scores to +-50 instead of shifting them",
           old="    z = z - z.max(axis=-1, keepdims=True)\n", new="    z = np.clip(z, -50, 50)\n"),
    Mutant("softmax", "shifts by the largest absolute score: rows of large negative scores underflow",
           old="z.max(axis=-1, keepdims=True)", new="np.abs(z).max(axis=-1, keepdims=True)"),
    Mutant("softmax", "exponentials not normalised",
           old="e / e.sum(axis=-1, keepdims=True)", new="e"),
    Mutant("softmax", "normalised by the largest exponential instead of the sum",
           old="e / e.sum(axis=-1, keepdims=True)", new="e / e.max(axis=-1, keepdims=True)"),
    Mutant("softmax", "base 2 instead of e",
           old="e = np.exp(z)", new="e = np.exp2(z)"),
    Mutant("softmax", "computed in float16: large scores and small probabilities lose their digits",
           old="np.asarray(scores, dtype=float) / temperature",
           new="np.asarray(scores, dtype=np.float16) / np.float16(temperature)"),
    Mutant("softmax", "probabilities rounded to two decimals",
           old="e / e.sum(axis=-1, keepdims=True)", new="np.round(e / e.sum(axis=-1, keepdims=True), 2)"),
    Mutant("softmax", "a 2-D answer only: more axes flattened into rows and left that way",
           answer="""\
    z = np.asarray(scores, dtype=float) / temperature
    rows = z.reshape(-1, z.shape[-1])
    e = np.exp(rows - rows.max(axis=1, keepdims=True))
    out = e / e.sum(axis=1, keepdims=True)
    return out if z.ndim > 1 else out[0]"""),
    Mutant("softmax", "temperature used as an exponent of the scores' scale (times 1 / T squared)",
           old="np.asarray(scores, dtype=float) / temperature",
           new="np.asarray(scores, dtype=float) / temperature**2"),
]

# No answer from rnnlab is tried here, though one scores: rnnlab.layers_numpy.temporal_softmax_loss,
# lab 04's given loss, returns the softmax minus the one-hot target as its gradient, so adding the
# target back gives the softmax. The gradient of a softmax loss is that, whatever computes it, and
# scipy.special.softmax and torch.softmax are in every environment anyway: nothing to remove.
NO_RELATED_HELPER = {
    "softmax": "temporal_softmax_loss (lab 04's given loss) yields the softmax through its gradient, as "
               "any softmax loss's gradient does; scipy.special.softmax and torch.softmax are installed "
               "anyway (see above)",
}

EQUIVALENTS = [
    Equivalent("softmax", "a loop over the rows of a 2-D view",
               answer="""\
    z = np.array(scores, dtype=float)
    rows = z.reshape(-1, z.shape[-1])
    out = np.empty_like(rows)
    for i, row in enumerate(rows):
        e = np.exp((row - row.max()) / temperature)
        out[i] = e / e.sum()
    return out.reshape(z.shape)"""),
    Equivalent("softmax", "the temperature applied as a power of the shifted exponentials",
               answer="""\
    z = np.asarray(scores, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True)) ** (1.0 / temperature)
    return e / e.sum(axis=-1, keepdims=True)"""),
    Equivalent("softmax", "scipy.special.softmax on the scaled scores",
               answer="""\
    from scipy.special import softmax as scipy_softmax

    return scipy_softmax(np.asarray(scores, dtype=float) / temperature, axis=-1)"""),
    Equivalent("softmax", "log-sum-exp, then exp; the result returned as a nested list",
               answer="""\
    z = np.asarray(scores, dtype=float) / temperature
    m = z.max(axis=-1, keepdims=True)
    log_norm = m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    return np.exp(z - log_norm).tolist()"""),
    Equivalent("softmax", "warns on a low temperature (stderr output in the test cell)",
               answer="""\
    import warnings

    if temperature < 0.5:
        warnings.warn(f"temperature {temperature} is low: sampling will be nearly greedy")
    z = np.asarray(scores, dtype=float) / temperature
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)"""),
    Equivalent("softmax", "shows a progress bar over the rows",
               answer="""\
    from tqdm import tqdm

    z = np.asarray(scores, dtype=float) / temperature
    rows = z.reshape(-1, z.shape[-1])
    out = np.stack([np.exp(r - r.max()) / np.exp(r - r.max()).sum() for r in tqdm(rows)])
    return out.reshape(z.shape)"""),
    Equivalent("softmax", "torch in float32, a tensor returned",
               answer="""\
    import torch

    logits = torch.as_tensor(np.asarray(scores), dtype=torch.float32) / temperature
    return torch.softmax(logits, dim=-1)"""),
    Equivalent("softmax", "np.apply_along_axis over the last axis",
               answer="""\
    def one_row(row):
        e = np.exp((row - row.max()) / temperature)
        return e / e.sum()

    return np.apply_along_axis(one_row, -1, np.asarray(scores, dtype=float))"""),
    Equivalent("softmax", "the log-softmax from scipy, exponentiated",
               answer="""\
    from scipy.special import log_softmax

    return np.exp(log_softmax(np.asarray(scores, dtype=float) / temperature, axis=-1))"""),
]
