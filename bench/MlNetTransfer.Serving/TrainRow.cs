namespace MlNetTransfer.Serving;

public sealed class TrainRow
{
    public string ImagePath { get; set; } = "";
    public string Label { get; set; } = "";
}
