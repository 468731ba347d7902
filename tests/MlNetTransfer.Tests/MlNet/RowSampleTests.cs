using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Engine.Recipe;
using MlNetTransfer.MlNet;

namespace MlNetTransfer.Tests;

/// <summary>The sample of a data view a job's import reads its images from: a seeded spread of rows, whose images
/// alone are decoded.</summary>
public class RowSampleTests
{
    [Fact]
    public void A_sample_keeps_the_seeds_rows_in_their_order_across_every_class_and_decodes_no_other_image()
    {
        var ml = new MLContext(seed: 1);
        var rows = ImageRow.Samples("train"); // 400 rows, class by class
        var kept = Familiarity.Sample(rows.Count, 1, seed: 7, maxRows: 50);
        // every row left out names a file that is not there: reading its image would fail
        var listed = rows.Select((r, i) => kept.Contains(i) ? r : new ImageRow { ImagePath = $"gone/{i}.png", Label = r.Label }).ToList();
        var data = ml.Transforms.LoadImages("Image", ImageRow.Root, nameof(ImageRow.ImagePath)).Fit(ml.Data.LoadFromEnumerable(listed))
            .Transform(ml.Data.LoadFromEnumerable(listed));
        Assert.ThrowsAny<Exception>(() => Images(data, out _)); // the test's premise: the whole view cannot be read

        var sample = RowSample.Of(data, 50, seed: 7);

        Assert.Equal(50, sample.GetRowCount());
        Assert.Equal(50, Images(sample, out var ids));
        Assert.Equal(kept, ids); // the source's row ids, in order
        Assert.Equal(rows.Select(r => r.Label).Distinct().Order(), kept.Select(i => rows[(int)i].Label).Distinct().Order()); // not the first class alone
        Assert.Equal(kept, Familiarity.Sample(rows.Count, 1, seed: 7, maxRows: 50)); // the same seed, the same rows
        Assert.NotEqual(kept, Familiarity.Sample(rows.Count, 1, seed: 8, maxRows: 50));
        Assert.Same(data, RowSample.Of(data, 400, seed: 7)); // no more rows than asked for: the view itself
    }

    /// <summary>Decodes every image of <paramref name="data"/>; the row ids read.</summary>
    static int Images(IDataView data, out long[] ids)
    {
        var column = data.Schema["Image"];
        using var cursor = data.GetRowCursor([column]);
        var getImage = cursor.GetGetter<MLImage>(column);
        var getId = cursor.GetIdGetter();
        var read = new List<long>();
        MLImage image = null!;
        DataViewRowId id = default;
        while (cursor.MoveNext())
        {
            getImage(ref image);
            getId(ref id);
            read.Add((long)id.Low);
        }
        ids = [.. read];
        return read.Count;
    }
}
