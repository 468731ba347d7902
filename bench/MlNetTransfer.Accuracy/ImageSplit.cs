namespace MlNetTransfer.Accuracy;

/// <summary>One benchmark split: a training folder and a test folder, each with one sub-folder per class (the layout
/// `train --data/--test` reads), and how it was drawn.</summary>
public sealed record ImageSplit(string DataSet, string Name, string TrainFolder, string TestFolder, int TrainImages, int TestImages, string Drawn);
