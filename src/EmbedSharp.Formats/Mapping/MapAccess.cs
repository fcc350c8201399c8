namespace EmbedSharp.Formats.Mapping;

/// <summary>How a memory-mapped table may be used.</summary>
public enum MapAccess
{
    /// <summary>
    /// Pages are mapped read-only and shared with the page cache. Writing to the table (WriteRow,
    /// GetRow spans) is an access violation that ends the process: use <see cref="CopyOnWrite"/>
    /// when the rows may be modified.
    /// </summary>
    ReadOnly,
    /// <summary>Pages are private: writes change this process's copy only, never the file.</summary>
    CopyOnWrite,
}
