using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetTransfer.MlNet;

/// <summary>The text column of image paths that LoadImages read, and the folder they are relative to (null: as they are).</summary>
internal sealed record ImageFiles(string Column, string? Folder)
{
    public string PathOf(string path) => Folder == null ? path : Path.Combine(Folder, path);

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
