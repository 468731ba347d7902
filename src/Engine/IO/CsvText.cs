namespace MlNetTransfer;

/// <summary>RFC 4180 text: the one rule for writing a CSV field, shared by every CSV the project writes.</summary>
public static class CsvText
{
    /// <summary>The field as written in a CSV row: quoted (inner quotes doubled) when it holds a comma, a quote or a
    /// line break, else as it is.</summary>
    public static string Field(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";
}
