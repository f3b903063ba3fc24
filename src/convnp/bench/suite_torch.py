"""PyTorch twins of the suite's models (`suite_models.py`): ``build(torch, name)``.

Idiomatic PyTorch: NCHW, ``nn.Module``s, BatchNorm with Keras's ``eps=1e-3`` and momentum
0.99 (PyTorch's 0.01), the softmax/sigmoid folded into the loss. Standalone: imports neither
convnp nor TensorFlow.
"""

from __future__ import annotations


def _bn(nn, channels):
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


def _mnist(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(64 * 5 * 5, 10),
    )


def _vgg(torch):
    nn = torch.nn
    layers, channels = [], 3
    for filters in (32, 64, 128):
        for _ in range(2):
            layers += [nn.Conv2d(channels, filters, 3, padding=1), _bn(nn, filters), nn.ReLU()]
            channels = filters
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(128 * 4 * 4, 10))


def _resnet50(torch):
    nn = torch.nn

    class Block(nn.Module):
        """The course's identity block (``stride None``) or convolutional block."""

        def __init__(self, c_in, f, filters, stride=None):
            super().__init__()
            F1, F2, F3 = filters
            s = stride or 1
            self.main = nn.Sequential(
                nn.Conv2d(c_in, F1, 1, stride=s), _bn(nn, F1), nn.ReLU(),
                nn.Conv2d(F1, F2, f, padding=f // 2), _bn(nn, F2), nn.ReLU(),
                nn.Conv2d(F2, F3, 1), _bn(nn, F3))
            self.shortcut = (nn.Sequential(nn.Conv2d(c_in, F3, 1, stride=s), _bn(nn, F3))
                             if stride else nn.Identity())

        def forward(self, x):
            return torch.relu(self.main(x) + self.shortcut(x))

    layers = [nn.ZeroPad2d(3), nn.Conv2d(3, 64, 7, stride=2), _bn(nn, 64), nn.ReLU(),
              nn.MaxPool2d(3, 2)]
    channels = 64
    for filters, s, identities in (([64, 64, 256], 1, 2), ([128, 128, 512], 2, 3),
                                   ([256, 256, 1024], 2, 5), ([512, 512, 2048], 2, 2)):
        layers.append(Block(channels, 3, filters, stride=s))
        channels = filters[2]
        layers += [Block(channels, 3, filters) for _ in range(identities)]
    layers += [nn.AvgPool2d(2), nn.Flatten(), nn.Linear(2048, 6)]
    return nn.Sequential(*layers)


def _mobilenetv2(torch):
    from suite_models import MOBILENET_STAGES

    nn = torch.nn

    class Inverted(nn.Module):
        def __init__(self, c_in, t, c, stride):
            super().__init__()
            hidden = c_in * t
            layers = []
            if t != 1:
                layers += [nn.Conv2d(c_in, hidden, 1, bias=False), _bn(nn, hidden), nn.ReLU6()]
            layers += [nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden,
                                 bias=False), _bn(nn, hidden), nn.ReLU6(),
                       nn.Conv2d(hidden, c, 1, bias=False), _bn(nn, c)]
            self.body = nn.Sequential(*layers)
            self.residual = stride == 1 and c_in == c

        def forward(self, x):
            y = self.body(x)
            return y + x if self.residual else y

    layers = [nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False), _bn(nn, 32), nn.ReLU6()]
    channels = 32
    for t, c, n, s in MOBILENET_STAGES:
        for i in range(n):
            layers.append(Inverted(channels, t, c, s if i == 0 else 1))
            channels = c
    layers += [nn.Conv2d(channels, 1280, 1, bias=False), _bn(nn, 1280), nn.ReLU6(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, 10)]
    return nn.Sequential(*layers)


def _unet(torch, n_filters=32, n_classes=23):
    nn = torch.nn

    def double_conv(c_in, c_out, dropout=0.0):
        layers = [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                  nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        return nn.Sequential(*layers)

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            f = n_filters
            self.down = nn.ModuleList([double_conv(3, f), double_conv(f, 2 * f),
                                       double_conv(2 * f, 4 * f),
                                       double_conv(4 * f, 8 * f, 0.3)])
            self.bottom = double_conv(8 * f, 16 * f, 0.3)
            self.pool = nn.MaxPool2d(2)
            widths = (16 * f, 8 * f, 4 * f, 2 * f, f)
            self.up = nn.ModuleList([
                nn.ConvTranspose2d(widths[i], widths[i + 1], 3, stride=2, padding=1,
                                   output_padding=1) for i in range(4)])
            self.merge = nn.ModuleList([double_conv(2 * widths[i + 1], widths[i + 1])
                                        for i in range(4)])
            self.head = nn.Sequential(nn.Conv2d(f, f, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(f, n_classes, 1))

        def forward(self, x):
            skips = []
            for block in self.down:
                x = block(x)
                skips.append(x)
                x = self.pool(x)
            x = self.bottom(x)
            for up, merge, skip in zip(self.up, self.merge, reversed(skips)):
                x = merge(torch.cat([up(x), skip], dim=1))
            return self.head(x)

    return UNet()


def _c3d(torch):
    """The C3D-style video net, NCDHW (padding 1 is Keras's "same" for a stride-1 3x3x3)."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv3d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool3d((1, 2, 2)),
        nn.Conv3d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool3d(2),
        nn.Conv3d(32, 64, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(64, 10),
    )


def _convmixer(torch):
    """The ConvMixer twin (PyTorch's exact GELU, as Keras's default)."""
    nn = torch.nn

    class Mixer(nn.Module):
        def __init__(self):
            super().__init__()
            self.depthwise = nn.Sequential(nn.Conv2d(64, 64, 5, padding=2, groups=64),
                                           nn.GELU(), _bn(nn, 64))
            self.pointwise = nn.Sequential(nn.Conv2d(64, 64, 1), nn.GELU(), _bn(nn, 64))

        def forward(self, x):
            return self.pointwise(self.depthwise(x) + x)

    return nn.Sequential(nn.Conv2d(3, 64, 2, stride=2), nn.GELU(), _bn(nn, 64),
                         *[Mixer() for _ in range(4)],
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def _vit(torch):
    """The ViT twin (`nn.MultiheadAttention`, PyTorch's exact GELU as Keras's default)."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1 = nn.LayerNorm(64, eps=1e-6)
            self.attention = nn.MultiheadAttention(64, 4, batch_first=True)
            self.norm2 = nn.LayerNorm(64, eps=1e-6)
            self.mlp = nn.Sequential(nn.Linear(64, 128), nn.GELU(), nn.Linear(128, 64))

        def forward(self, x):
            h = self.norm1(x)
            x = x + self.attention(h, h, h, need_weights=False)[0]
            return x + self.mlp(self.norm2(x))

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patches = nn.Conv2d(3, 64, 4, stride=4)
            self.blocks = nn.Sequential(*[Block() for _ in range(4)])
            self.head = nn.Linear(64, 10)

        def forward(self, x):
            # Keras reshapes the NHWC patch grid row by row: the same token order
            tokens = self.patches(x).flatten(2).transpose(1, 2)
            return self.head(self.blocks(tokens).mean(dim=1))

    return ViT()


BUILDERS = {"mnist": _mnist, "vgg": _vgg, "resnet50": _resnet50, "mobilenetv2": _mobilenetv2,
            "unet": _unet, "c3d": _c3d, "convmixer": _convmixer, "vit": _vit}


def build(torch, name: str):
    """``(net, loss)`` for the suite model ``name``."""
    if name in ("happy", "signs"):
        from worker_torch import build as build_notes_model  # same folder; run as a script

        return build_notes_model(torch, name)
    nn = torch.nn
    loss = nn.BCEWithLogitsLoss() if name == "happy" else nn.CrossEntropyLoss()
    return BUILDERS[name](torch), loss
