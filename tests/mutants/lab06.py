"""Lab 06: plausible wrong answers and correct variants for every autograded exercise."""

from mutation import Equivalent, Mutant

LAB = "06_vgg_inversion"
EXERCISES = {
    "model_F": ("optional_test_model_F",),
    "total_variation": ("optional_test_total_variation",),
    "inversion_loss": ("optional_test_inversion_loss",),
    "reconstruct": ("optional_test_reconstruct", "optional_test_reconstruction_quality"),
}
MUTANTS = [
    # model_F
    Mutant("model_F", "module k itself left out: net[:k]",
           old="return net[: k + 1](x)", new="return net[:k](x)"),
    Mutant("model_F", "one module too many: net[:k + 2]",
           old="return net[: k + 1](x)", new="return net[: k + 2](x)"),
    Mutant("model_F", "module k alone, without the modules before it",
           old="return net[: k + 1](x)", new="return net[k](x)"),
    Mutant("model_F", "the lab's global `features` used, the `net` argument ignored",
           old="return net[: k + 1](x)", new="return features[: k + 1](x)"),
    # total_variation
    Mutant("total_variation", "horizontal differences only: one axis forgotten",
           old="(right.pow(2) + down.pow(2) + eps)", new="(right.pow(2) + eps)"),
    Mutant("total_variation", "anisotropic: |dx|^beta + |dy|^beta instead of (dx^2 + dy^2)^(beta/2)",
           old="return (right.pow(2) + down.pow(2) + eps).pow(beta / 2).mean()",
           new="return (right.abs().pow(beta) + down.abs().pow(beta) + eps).mean()"),
    Mutant("total_variation", "summed instead of averaged over the grid",
           old=".pow(beta / 2).mean()", new=".pow(beta / 2).sum()"),
    Mutant("total_variation", "eps added after the power: infinite gradient on flat regions",
           old="(right.pow(2) + down.pow(2) + eps).pow(beta / 2).mean()",
           new="(right.pow(2) + down.pow(2)).pow(beta / 2).mean() + eps"),
    Mutant("total_variation", "beta ignored: always the squared differences",
           old=".pow(beta / 2).mean()", new=".mean()"),
    # inversion_loss
    Mutant("inversion_loss", "not divided by the squared norm of the target",
           old=" / target.pow(2).sum()", new=""),
    Mutant("inversion_loss", "mean squared error instead of the relative error",
           old="(model_F(x, k, net) - target).pow(2).sum() / target.pow(2).sum()",
           new="(model_F(x, k, net) - target).pow(2).mean()"),
    Mutant("inversion_loss", "divided by the squared norm of F_k(x), not of the target",
           answer="""\
    activations = model_F(x, k, net)
    error = (activations - target).pow(2).sum() / activations.pow(2).sum()
    return error + tv_weight * total_variation(x, beta) + range_weight * x.abs().pow(alpha).mean()"""),
    Mutant("inversion_loss", "`net` not passed on: the lab's network used whatever is given",
           old="model_F(x, k, net)", new="model_F(x, k)"),
    Mutant("inversion_loss", "beta not passed on to total_variation",
           old="total_variation(x, beta)", new="total_variation(x)"),
    Mutant("inversion_loss", "range prior summed over the pixels instead of averaged",
           old="x.abs().pow(alpha).mean()", new="x.abs().pow(alpha).sum()"),
    # reconstruct
    Mutant("reconstruct", "`net` not passed on to the loss: the lab's network used",
           old="range_weight, net=net)", new="range_weight)"),
    Mutant("reconstruct", "range_weight not passed on: the loss's default used",
           old="tv_weight, range_weight, net=net)", new="tv_weight, net=net)"),
    Mutant("reconstruct", "tv_weight and range_weight passed in the wrong order",
           old="tv_weight, range_weight, net=net)", new="range_weight, tv_weight, net=net)"),
    Mutant("reconstruct", "no zero_grad: gradients pile up over the steps",
           old="        optimizer.zero_grad()\n", new=""),
    Mutant("reconstruct", "learning rate never decays: the scheduler is not stepped",
           old="        schedule.step()\n", new=""),
    Mutant("reconstruct", "the lab's LR used instead of the lr argument",
           old="pyramid.parameters(), lr=lr)", new="pyramid.parameters(), lr=LR)"),
    Mutant("reconstruct", "Adam on the network's weights instead of the image's pyramid",
           old="torch.optim.Adam(pyramid.parameters(), lr=lr)",
           new="torch.optim.Adam(features.parameters(), lr=lr)"),
    Mutant("reconstruct", "seed ignored: every run starts from the same pyramid",
           old="    pyramid = inversion.PyramidImage(size, seed=seed)",
           new="    pyramid = inversion.PyramidImage(size)"),
    Mutant("reconstruct", "image clamped to [0, 1] at every step, as if it were in display units",
           old="loss = inversion_loss(pyramid(), target,",
           new="loss = inversion_loss(pyramid().clamp(0, 1), target,"),
    Mutant("reconstruct", "the image returned denormalised (x * std + mean), not in normalised units",
           old="        return pyramid(), losses, snapshots",
           new="        return pyramid() * std + mean, losses, snapshots"),
]
EQUIVALENTS = [
    Equivalent("model_F", "a loop over the modules that stops after module k",
               answer="""\
    for index, module in enumerate(net):
        x = module(x)
        if index == k:
            return x
    raise IndexError(f"k = {k}: the network has {len(net)} modules")"""),
    Equivalent("model_F", "a new Sequential of the first k + 1 children",
               answer="""\
    return torch.nn.Sequential(*list(net.children())[: k + 1])(x)"""),
    Equivalent("total_variation", "torch.diff and an explicit normalisation by N C (H-1) (W-1)",
               answer="""\
    n, c, h, w = x.shape
    dx = torch.diff(x, dim=3)[:, :, : h - 1, :]
    dy = torch.diff(x, dim=2)[:, :, :, : w - 1]
    return ((dx ** 2 + dy ** 2 + eps) ** (beta / 2)).sum() / (n * c * (h - 1) * (w - 1))"""),
    Equivalent("inversion_loss", "the relative error as a ratio of means, mse_loss and norms",
               answer="""\
    activations = model_F(x, k, net=net)
    relative = torch.nn.functional.mse_loss(activations, target) / target.square().mean()
    prior = torch.mean(torch.abs(x) ** alpha)
    return relative + tv_weight * total_variation(x, beta=beta) + range_weight * prior"""),
    Equivalent("inversion_loss", "the squared norms from torch.linalg.vector_norm",
               answer="""\
    difference = torch.linalg.vector_norm(model_F(x, k, net) - target) ** 2
    relative = difference / torch.linalg.vector_norm(target) ** 2
    return relative + tv_weight * total_variation(x, beta) + range_weight * x.abs().pow(alpha).mean()"""),
    Equivalent("reconstruct", "the cosine decay written by hand, trange, snapshots cloned",
               answer="""\
    import math

    from tqdm import trange

    pyramid = inversion.PyramidImage(size, seed=seed).to(target.device)
    optimizer = torch.optim.Adam(pyramid.parameters(), lr=lr)
    losses, snapshots = [], {}
    for step in trange(steps, desc="reconstruction"):
        x = pyramid()
        loss = inversion_loss(x, target, k, tv_weight=tv_weight, range_weight=range_weight, net=net)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        progress = (step + 1) / steps  # the learning rate of the next step
        for group in optimizer.param_groups:
            group["lr"] = lr / 20 + (lr - lr / 20) * (1 + math.cos(math.pi * progress)) / 2
        losses.append(float(loss))
        done = step + 1
        if done == steps or (snapshot_every is not None and done % snapshot_every == 0):
            snapshots[done] = pyramid().detach().clone()
    return pyramid().detach(), losses, snapshots"""),
]
