using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Imaging;

namespace MlNetTransfer.MlNet;

/// <summary>The text column of image paths that LoadImages read, the folder they are relative to (null: as they
/// are) and the largest image accepted: with them, TransferTrain decodes the files itself (<see cref="ImageFileReader"/>).</summary>
internal sealed record ImageFiles(string Column, string? Folder, long MaxPixels = ImageDecoder.DefaultMaxPixels)
{
    /// <summary>The file a row names.</summary>
    public string FullPath(string path) => Folder == null ? path : Path.Combine(Folder, path);

    /// <summary>Checks that <see cref="Column"/> is a text column of <paramref name="schema"/>, naming it otherwise.</summary>
    public ImageFiles CheckedIn(DataViewSchema schema, string option)
    {
        var found = schema.GetColumnOrNull(Column)
            ?? throw new ArgumentOutOfRangeException(option, $"{option} '{Column}' not found; expected the text column of image paths that LoadImages read. Columns: {string.Join(", ", schema.Select(c => c.Name))}.");
        if (found.Type is not TextDataViewType)
            throw new ArgumentOutOfRangeException(option, $"{option} '{Column}' must be text (image paths), not {found.Type}.");
        return this;
    }
}
