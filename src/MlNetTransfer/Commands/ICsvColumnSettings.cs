namespace MlNetTransfer.Cli.Commands;

/// <summary>Settings of a command that reads labelled images, naming a CSV's image and class columns
/// (<c>--image-column</c>, <c>--label-column</c>) and the folder its image paths start from (<c>--image-root</c>;
/// see <see cref="CsvColumnOptions"/>).</summary>
public interface ICsvColumnSettings
{
    string? ImageColumn { get; }
    string? LabelColumn { get; }
    string? ImageRoot { get; }
}
