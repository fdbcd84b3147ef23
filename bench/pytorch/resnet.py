"""ResNet-18/50 in torchvision's layout (stem, layer1..layer4, no classifier), returning the taps
conv1, conv2_x .. conv5_x like src-main/ml/backbones/resnet.ts. Written out so torchvision is not
needed; the parameter names are torchvision's state_dict names."""
import torch.nn as nn
import torch.nn.functional as F


def projection(cin, cout, stride):
    """torchvision's `downsample` shortcut: strided 1x1 conv + batch norm where a block changes
    the shape, None (identity) where it does not. Built after the block's own layers, so that the
    parameter order (and seeded initialisation) stays torchvision's."""
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


def join(x, y, downsample):
    """The block output: ReLU of the residual branch y plus the shortcut of the input x."""
    return F.relu(y + (downsample(x) if downsample is not None else x))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = projection(cin, width, stride)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return join(x, y, self.downsample)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, width, stride):
        super().__init__()
        out = width * 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = projection(cin, out, stride)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return join(x, y, self.downsample)


SPECS = {'resnet18': (BasicBlock, [2, 2, 2, 2]), 'resnet50': (Bottleneck, [3, 4, 6, 3])}
STAGES = ['conv1', 'conv2_x', 'conv3_x', 'conv4_x', 'conv5_x']


class ResNet(nn.Module):
    def __init__(self, arch):
        super().__init__()
        block, counts = SPECS[arch]
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        cin = 64
        for i, (width, n) in enumerate(zip([64, 128, 256, 512], counts)):
            blocks = []
            for b in range(n):
                blocks.append(block(cin, width, 2 if b == 0 and i > 0 else 1))
                cin = width * block.expansion
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))
        self.out_channels = cin

    def forward(self, x):
        """Returns the taps by paper-000 name."""
        taps = {}
        x = F.relu(self.bn1(self.conv1(x)))
        taps['conv1'] = x
        x = F.max_pool2d(x, 3, 2, 1)
        for i in range(4):
            x = getattr(self, f'layer{i + 1}')(x)
            taps[STAGES[i + 1]] = x
        return taps
