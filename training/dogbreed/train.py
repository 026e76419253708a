"""Fine-tunes a pretrained ResNet-50 on the dog-breed images (133 classes).

SageMaker's PyTorch image runs this file with the pipeline's hyperparameters
as command-line flags and the input channels under SM_CHANNEL_<NAME>. It logs
`valid loss: …` and `valid accuracy: …` for the metric definitions and the
tuning objective, resumes from /opt/ml/checkpoints after a spot interruption,
and writes model.pth into SM_MODEL_DIR (SageMaker uploads it as model.tar.gz).
"""

import argparse
import os

import torch
from torch import nn, optim
from torch.utils.data import DataLoader
from torchvision import datasets, models, transforms

CHECKPOINT = "/opt/ml/checkpoints/last.pth"


def arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num-classes", type=int, default=133)
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "data/train"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION", "data/valid"))
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "model"))
    return parser.parse_args()


def loader(folder, batch_size, train):
    normalize = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    steps = [transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip()] if train else [
        transforms.Resize(256),
        transforms.CenterCrop(224),
    ]
    images = datasets.ImageFolder(folder, transforms.Compose(steps + [transforms.ToTensor(), normalize]))
    return DataLoader(images, batch_size=batch_size, shuffle=train, num_workers=4)


def main():
    args = arguments()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = getattr(models, args.model)(weights="DEFAULT")
    for parameter in model.parameters():
        parameter.requires_grad = False
    model.fc = nn.Linear(model.fc.in_features, args.num_classes)
    model.to(device)
    optimizer = optim.Adam(model.fc.parameters(), lr=args.lr)
    loss_of = nn.CrossEntropyLoss()
    train, valid = loader(args.train, args.batch_size, True), loader(args.validation, args.batch_size, False)

    start = 0
    if os.path.exists(CHECKPOINT):
        state = torch.load(CHECKPOINT, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = state["epoch"] + 1

    for epoch in range(start, args.epochs):
        model.train()
        for images, labels in train:
            optimizer.zero_grad()
            loss = loss_of(model(images.to(device)), labels.to(device))
            loss.backward()
            optimizer.step()

        model.eval()
        total_loss, correct, seen = 0.0, 0, 0
        with torch.no_grad():
            for images, labels in valid:
                images, labels = images.to(device), labels.to(device)
                outputs = model(images)
                total_loss += loss_of(outputs, labels).item() * labels.size(0)
                correct += (outputs.argmax(1) == labels).sum().item()
                seen += labels.size(0)
        print(f"epoch {epoch}: valid loss: {total_loss / seen:.4f}; valid accuracy: {correct / seen:.4f}")
        os.makedirs(os.path.dirname(CHECKPOINT), exist_ok=True)
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, CHECKPOINT)

    os.makedirs(args.model_dir, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(args.model_dir, "model.pth"))


if __name__ == "__main__":
    main()
