using System.Collections.Concurrent;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlNetTransfer.MlNet;

/// <summary>The text column of image paths that LoadImages read, and the folder they are relative to (null: as they
/// are). Each file is checked once per fit: the recipe reads the images at more than one side.</summary>
internal sealed record ImageFiles(string Column, string? Folder, CheckedFiles? Known = null)
{
    readonly ConcurrentDictionary<string, string?> _problems = new();

    /// <summary>What is wrong with the file a row names (<see cref="ImageFileCheck.Problem"/>), or null; files
    /// <see cref="Known"/> to be whole and unchanged are not decoded again.</summary>
    public string? ProblemOf(string path) => _problems.GetOrAdd(Folder == null ? path : Path.Combine(Folder, path), Known == null ? ImageFileCheck.Problem : Known.Problem);

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
