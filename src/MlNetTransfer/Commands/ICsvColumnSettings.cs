namespace MlNetTransfer.Cli.Commands;

/// <summary>Settings of a command that reads labelled images, naming a CSV's image and class columns
/// (<c>--image-column</c>, <c>--label-column</c>; see <see cref="CsvColumnOptions"/>).</summary>
public interface ICsvColumnSettings
{
    string? ImageColumn { get; }
    string? LabelColumn { get; }
}
