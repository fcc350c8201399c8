namespace EmbedSharp.Graphs.Data;

/// <summary>Reads <c>head&lt;TAB&gt;relation&lt;TAB&gt;tail</c> lines into name triples, with file and line in every error.</summary>
internal static class TripleParser
{
    internal readonly record struct NameTriple(string Head, string Relation, string Tail, int Line);

    /// <summary>
    /// Every line must have exactly three non-empty tab-separated fields (a trailing <c>\r</c> is dropped);
    /// blank lines are not allowed except at the very end. An empty source is an error.
    /// </summary>
    /// <exception cref="InvalidDataException">A malformed line or an empty source; the message names the source and line.</exception>
    public static List<NameTriple> Parse(TripleSource source, string op)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(source.Reader);
        var result = new List<NameTriple>();
        int lineNo = 0, blankAt = 0;
        string? line;
        while ((line = source.Reader.ReadLine()) is not null)
        {
            lineNo++;
            if (line.Length > 0 && line[^1] == '\r')
                line = line[..^1];
            if (line.Length == 0)
            {
                blankAt = blankAt == 0 ? lineNo : blankAt;
                continue;
            }
            if (blankAt != 0)
                throw new InvalidDataException($"[{op}] {source.Name}:{blankAt}: blank line inside the file; every line must be head<TAB>relation<TAB>tail");
            int t1 = line.IndexOf('\t');
            int t2 = t1 < 0 ? -1 : line.IndexOf('\t', t1 + 1);
            int t3 = t2 < 0 ? -1 : line.IndexOf('\t', t2 + 1);
            if (t1 < 0 || t2 < 0 || t3 >= 0)
            {
                int columns = line.Split('\t').Length;
                throw new InvalidDataException($"[{op}] {source.Name}:{lineNo}: {columns} tab-separated column(s); every line must be head<TAB>relation<TAB>tail (3 columns)");
            }
            string h = line[..t1], r = line[(t1 + 1)..t2], t = line[(t2 + 1)..];
            if (h.Length == 0 || r.Length == 0 || t.Length == 0)
                throw new InvalidDataException($"[{op}] {source.Name}:{lineNo}: an empty field; every line must be head<TAB>relation<TAB>tail with non-empty names");
            result.Add(new NameTriple(h, r, t, lineNo));
        }
        if (result.Count == 0)
            throw new InvalidDataException($"[{op}] {source.Name}: the file holds no triples; it must have one head<TAB>relation<TAB>tail line or more");
        return result;
    }
}
