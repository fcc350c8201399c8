using System.Text;
using EmbedSharp.Diagnostics;
using EmbedSharp.Models.Data;

namespace EmbedSharp.Models.Tabular;

/// <summary>
/// A CSV file as a header and rows of strings (RFC 4180: fields may be quoted, <c>""</c> is a quote
/// inside a quoted field; quoted fields may not span lines). Every row must have the header's width.
/// </summary>
public sealed class CsvTable
{
    /// <summary>Wraps a header and rows (not copied).</summary>
    /// <exception cref="ArgumentException">A row of the wrong width or a repeated column name.</exception>
    public CsvTable(IReadOnlyList<string> header, IReadOnlyList<string[]> rows, string source = "table")
    {
        const string op = "csv.create";
        Guard.NotNull(op, header);
        Guard.NotNull(op, rows);
        if (header.Distinct(StringComparer.Ordinal).Count() != header.Count)
            ThrowHelper.Argument(op, nameof(header), "a column name is repeated");
        for (int r = 0; r < rows.Count; r++)
            if (rows[r] is null || rows[r].Length != header.Count)
                ThrowHelper.Argument(op, nameof(rows), $"row {r} has {rows[r]?.Length ?? 0} fields but the header has {header.Count}");
        Header = header;
        Rows = rows;
        Source = source ?? "table";
    }

    /// <summary>The file name (for messages; line numbers in them count the header as line 1 and no blank lines).</summary>
    public string Source { get; }

    /// <summary>Column names.</summary>
    public IReadOnlyList<string> Header { get; }

    /// <summary>Data rows.</summary>
    public IReadOnlyList<string[]> Rows { get; }

    /// <summary>Index of column <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such column (the message lists them).</exception>
    public int ColumnIndex(string name)
    {
        for (int c = 0; c < Header.Count; c++)
            if (Header[c] == name)
                return c;
        ThrowHelper.Argument("csv", nameof(name), $"no column named '{name}' (columns: {string.Join(", ", Header)})");
        return -1;
    }

    /// <summary>Reads a CSV with a header line; blank lines are skipped.</summary>
    /// <exception cref="DataFormatException">A row of the wrong width or an unterminated quote, naming the line and column.</exception>
    public static CsvTable Read(TextReader reader, string source, char separator = ',')
    {
        const string op = "csv.read";
        Guard.NotNull(op, reader);
        Guard.NotNull(op, source);
        string[]? header = null;
        var rows = new List<string[]>();
        long lineNumber = 0;
        string? line;
        var fields = new List<string>();
        var field = new StringBuilder();
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (line.Length == 0 || (line.Trim().Length == 0))
                continue;
            Split(op, source, lineNumber, line, separator, fields, field);
            if (header is null)
            {
                header = [.. fields.Select(f => f.Trim())];
                if (header.Distinct(StringComparer.Ordinal).Count() != header.Length)
                    throw new DataFormatException(op, source, lineNumber, 1, "the header repeats a column name");
                continue;
            }
            if (fields.Count != header.Length)
                throw new DataFormatException(op, source, lineNumber, Math.Min(fields.Count, header.Length) + 1,
                    $"the row has {fields.Count} fields but the header has {header.Length}");
            rows.Add([.. fields]);
        }
        if (header is null)
            throw new DataFormatException(op, source, Math.Max(lineNumber, 1), 1, "the file is empty (a header line is needed)");
        return new CsvTable(header, rows, source);
    }

    private static void Split(string op, string source, long lineNumber, string line, char separator, List<string> fields, StringBuilder field)
    {
        fields.Clear();
        field.Clear();
        bool quoted = false, wasQuoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < line.Length && line[i + 1] == '"')
                    {
                        field.Append('"');
                        i++;
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"' && field.Length == 0 && !wasQuoted)
            {
                quoted = wasQuoted = true;
            }
            else if (c == separator)
            {
                fields.Add(field.ToString());
                field.Clear();
                wasQuoted = false;
            }
            else
            {
                field.Append(c);
            }
        }
        if (quoted)
            throw new DataFormatException(op, source, lineNumber, fields.Count + 1, "a quoted field is not closed on its line");
        fields.Add(field.ToString());
    }
}
