namespace EmbedSharp.Graphs.Data;

/// <summary>One fact <c>(head, relation, tail)</c> as ids into a graph's entity and relation vocabularies.</summary>
/// <param name="Head">Entity id of the subject.</param>
/// <param name="Relation">Relation id.</param>
/// <param name="Tail">Entity id of the object.</param>
public readonly record struct Triple(int Head, int Relation, int Tail);

/// <summary>Which end of a triple a query asks for.</summary>
public enum QuerySide
{
    /// <summary><c>(h, r, ?)</c>: rank every entity as the tail.</summary>
    Tail = 0,

    /// <summary><c>(?, r, t)</c>: rank every entity as the head.</summary>
    Head = 1,
}

/// <summary>A named reader of triple text, so errors can name the file.</summary>
/// <param name="Name">What to call the source in errors (usually the file path).</param>
/// <param name="Reader">The text, one <c>head&lt;TAB&gt;relation&lt;TAB&gt;tail</c> triple per line.</param>
public sealed record TripleSource(string Name, TextReader Reader);
