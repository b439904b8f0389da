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
    Mutant("model_F", "the network put in evaluation mode inside model_F: the caller's mode overridden",
           old="return net[: k + 1](x)", new="net.eval()\n    return net[: k + 1](x)"),
    Mutant("model_F", "computed under torch.no_grad(): no gradient reaches the image",
           old="    return net[: k + 1](x)", new="    with torch.no_grad():\n        return net[: k + 1](x)"),
    Mutant("model_F", "network and input moved to the CPU: wrong on any other device",
           old="return net[: k + 1](x)", new="return net[: k + 1].cpu()(x.cpu())"),
    Mutant("model_F", "input reshaped to the lab's image size: right only for SIZE x SIZE images",
           old="return net[: k + 1](x)", new="return net[: k + 1](x.reshape(-1, 3, SIZE, SIZE))"),
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
    Mutant("total_variation", "normalised by N C (H-1)^2: right only for square images",
           answer="""\
    n, c, h, w = x.shape
    right = x[..., :-1, 1:] - x[..., :-1, :-1]
    down = x[..., 1:, :-1] - x[..., :-1, :-1]
    return (right.pow(2) + down.pow(2) + eps).pow(beta / 2).sum() / (n * c * (h - 1) ** 2)"""),
    Mutant("total_variation", "the grid's mask made on the CPU: wrong for images on any other device",
           answer="""\
    right = x.roll(-1, dims=3) - x
    down = x.roll(-1, dims=2) - x
    mask = torch.zeros(x.shape[-2:])
    mask[:-1, :-1] = 1
    terms = (right.pow(2) + down.pow(2) + eps).pow(beta / 2) * mask
    return terms.sum() / (mask.sum() * x.shape[0] * x.shape[1])"""),
    Mutant("total_variation", "eps fixed at 1e-4 instead of the eps argument",
           old="down.pow(2) + eps)", new="down.pow(2) + 1e-4)"),
    Mutant("total_variation", "computed in NumPy and wrapped in a new tensor: no gradient",
           answer="""\
    a = x.detach().cpu().numpy()
    right = a[..., :-1, 1:] - a[..., :-1, :-1]
    down = a[..., 1:, :-1] - a[..., :-1, :-1]
    return torch.tensor(((right ** 2 + down ** 2 + eps) ** (beta / 2)).mean())"""),
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
    Mutant("inversion_loss", "the terms weighted by a vector made on the CPU: wrong on any other device",
           answer="""\
    terms = torch.stack([(model_F(x, k, net) - target).pow(2).sum() / target.pow(2).sum(),
                         total_variation(x, beta), x.abs().pow(alpha).mean()])
    weights = torch.tensor([1.0, tv_weight, range_weight])
    return (weights * terms).sum()"""),
    Mutant("inversion_loss", "eps added to the squared norm of the target: wrong for small activations",
           old=" / target.pow(2).sum()", new=" / (target.pow(2).sum() + 1e-8)"),
    Mutant("inversion_loss", "alpha ignored: the range prior always uses the power 6",
           old="x.abs().pow(alpha)", new="x.abs().pow(6)"),
    Mutant("inversion_loss", "the relative error under torch.no_grad(): only the priors have a gradient",
           answer="""\
    with torch.no_grad():
        error = (model_F(x, k, net) - target).pow(2).sum() / target.pow(2).sum()
    return error + tv_weight * total_variation(x, beta) + range_weight * x.abs().pow(alpha).mean()"""),
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
    Mutant("reconstruct", "the pyramid moved to the lab's device, not to the target's",
           old="seed=seed).to(target.device)\n", new="seed=seed).to(device)\n"),
    Mutant("reconstruct", "the lab's SIZE used instead of the size argument",
           old="    pyramid = inversion.PyramidImage(size, seed=seed)",
           new="    pyramid = inversion.PyramidImage(SIZE, seed=seed)"),
    Mutant("reconstruct", "torch.manual_seed(seed), then the pyramid with its own default seed",
           old="    pyramid = inversion.PyramidImage(size, seed=seed)",
           new="    torch.manual_seed(seed)\n    pyramid = inversion.PyramidImage(size)"),
    Mutant("reconstruct", "losses recorded as tensors (loss.detach()), not numbers",
           old="losses.append(loss.item())", new="losses.append(loss.detach())"),
    Mutant("reconstruct", "the loss recorded after the update, not the loss the step minimised",
           old="        losses.append(loss.item())",
           new="        losses.append(float(inversion_loss(pyramid(), target, k, tv_weight, range_weight, "
               "net=net)))"),
]
# Answers built only from rnnlab's public functions (the glue is the least that makes them run):
# rnnlab must hold no part of an exercise, so none of these may score.
FROM_RNNLAB = [
    Mutant("model_F", "FROM_RNNLAB: rnnlab.inversion.probe (module LAYER's activations of its own image)",
           answer="""\
    return inversion.probe(net).to(x.device)"""),
]
MUTANTS += FROM_RNNLAB

# Exercises that no rnnlab function relates to, and why.
NO_RELATED_HELPER = {
    "reconstruct": "Adam on the PyramidImage that the exercise asks for: rnnlab has no optimisation loop "
                   "(rnnlab.training.fit, used by no lab, answered lab 02's train_step and was removed)",
    "total_variation": "rnnlab measures no smoothness of an image: inversion has SSIM (two images "
                       "compared) and the pyramid image, vision only normalisation",
    "inversion_loss": "rnnlab compares no activations with a target: inversion.load_incognito checks a "
                      "network on a probe image inside and returns the target only; SSIM needs the "
                      "photo, which the lab does not have",
}
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
    Equivalent("model_F", "a loop over the indices 0 .. k",
               answer="""\
    out = x
    for index in range(k + 1):
        out = net[index](out)
    return out"""),
    Equivalent("total_variation", "a loop over the images of the batch, averaged",
               answer="""\
    per_image = []
    for image in x:
        right = image[:, :-1, 1:] - image[:, :-1, :-1]
        down = image[:, 1:, :-1] - image[:, :-1, :-1]
        per_image.append((right ** 2 + down ** 2 + eps).pow(beta / 2).mean())
    return torch.stack(per_image).mean()"""),
    Equivalent("total_variation", "full-size differences and a mask of the grid made on x's device",
               answer="""\
    right = x.roll(-1, dims=3) - x
    down = x.roll(-1, dims=2) - x
    mask = torch.zeros(x.shape[-2:], device=x.device, dtype=x.dtype)
    mask[:-1, :-1] = 1
    terms = (right.pow(2) + down.pow(2) + eps).pow(beta / 2) * mask
    return terms.sum() / (mask.sum() * x.shape[0] * x.shape[1])"""),
    Equivalent("inversion_loss", "the three terms weighted by a vector on x's device",
               answer="""\
    terms = torch.stack([(model_F(x, k, net) - target).pow(2).sum() / target.pow(2).sum(),
                         total_variation(x, beta), x.abs().pow(alpha).mean()])
    weights = torch.tensor([1.0, tv_weight, range_weight], device=x.device, dtype=terms.dtype)
    return (weights * terms).sum()"""),
    Equivalent("inversion_loss", "the relative error accumulated in float64, returned in x's dtype",
               answer="""\
    difference = (model_F(x, k, net) - target).double()
    error = (difference.pow(2).sum() / target.double().pow(2).sum()).to(x.dtype)
    return error + tv_weight * total_variation(x, beta) + range_weight * x.abs().pow(alpha).mean()"""),
    Equivalent("reconstruct", "LambdaLR with the cosine written out, float(loss), snapshots cloned",
               answer="""\
    import math

    pyramid = inversion.PyramidImage(size, seed=seed).to(device=target.device)
    optimizer = torch.optim.Adam(pyramid.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda done: 1 / 20 + (1 - 1 / 20) * (1 + math.cos(math.pi * done / steps)) / 2)
    losses, snapshots = [], {}
    for step in tqdm(range(1, steps + 1), leave=False):
        loss = inversion_loss(pyramid(), target, k, tv_weight=tv_weight, range_weight=range_weight, net=net)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(float(loss))
        if step == steps or (snapshot_every is not None and step % snapshot_every == 0):
            snapshots[step] = pyramid().detach().clone()
    return pyramid().detach(), losses, snapshots"""),
]
