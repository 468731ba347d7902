using Microsoft.ML;
using Microsoft.ML.Data;
using MlNetTransfer.Engine.Recipe;

namespace MlNetTransfer.MlNet;

/// <summary>The rows of an IDataView at the given input positions, in their order: a cursor over it moves the
/// source's cursor past the other rows without calling a getter, so an image column (LoadImages' lazy decode) decodes
/// only the rows kept. Row ids are the source's.</summary>
internal sealed class RowSample(IDataView source, IReadOnlySet<long> rows) : IDataView
{
    /// <summary><paramref name="data"/> itself when it has at most <paramref name="maxRows"/> rows, else a seeded
    /// sample of that many of its rows (<see cref="Familiarity.Sample"/>: the same rows for the same seed and count).</summary>
    public static IDataView Of(IDataView data, int maxRows, int seed)
    {
        long count = data.GetRowCount() ?? Count(data);
        return count <= maxRows ? data : new RowSample(data, Familiarity.Sample(count, 1, seed, maxRows).ToHashSet());
    }

    static long Count(IDataView data)
    {
        using var cursor = data.GetRowCursor([]);
        long count = 0;
        while (cursor.MoveNext()) count++;
        return count;
    }

    public bool CanShuffle => false;
    public DataViewSchema Schema => source.Schema;
    public long? GetRowCount() => rows.Count;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(source.GetRowCursor(columnsNeeded), rows);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    sealed class Cursor(DataViewRowCursor source, IReadOnlySet<long> rows) : DataViewRowCursor
    {
        long _position = -1;

        public override DataViewSchema Schema => source.Schema;
        public override long Position => _position;
        public override long Batch => source.Batch;
        public override bool IsColumnActive(DataViewSchema.Column column) => source.IsColumnActive(column);
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => source.GetGetter<TValue>(column);
        public override ValueGetter<DataViewRowId> GetIdGetter() => source.GetIdGetter();

        public override bool MoveNext()
        {
            while (source.MoveNext())
            {
                if (!rows.Contains(source.Position)) continue;
                _position++;
                return true;
            }
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) source.Dispose();
            base.Dispose(disposing);
        }
    }
}
