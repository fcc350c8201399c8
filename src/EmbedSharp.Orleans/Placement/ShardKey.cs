using System.Globalization;

namespace EmbedSharp.Orleans.Placement;

/// <summary>
/// The string key of one shard grain: <c>{table}/{shardCount}/{shard}</c>. The shard count is part of the
/// key, so a table restored on a different number of shards gets new grains and never meets the old ones.
/// </summary>
/// <param name="Table">The table's name (letters, digits, '-', '_' and '.'; 1–128 characters).</param>
/// <param name="ShardCount">Number of shards of the plan.</param>
/// <param name="Shard">This shard's index, <c>0 ≤ Shard &lt; ShardCount</c>.</param>
public readonly record struct ShardKey(string Table, int ShardCount, int Shard)
{
    /// <summary>The grain key.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Table}/{ShardCount}/{Shard}");

    /// <summary>Parses a key written by <see cref="ToString"/>.</summary>
    public static bool TryParse(string text, out ShardKey key)
    {
        key = default;
        string[] parts = text.Split('/');
        if (parts.Length != 3 || !IsValidTableName(parts[0]))
            return false;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count <= 0)
            return false;
        if (!int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int shard) || shard >= count)
            return false;
        key = new ShardKey(parts[0], count, shard);
        return true;
    }

    /// <summary>
    /// True for names that are safe as a grain key part and as a folder name under the snapshot root:
    /// 1–128 of ASCII letters, digits, '-', '_' and '.', not starting with '.'.
    /// </summary>
    public static bool IsValidTableName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 128 || name[0] == '.')
            return false;
        foreach (char c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
                return false;
        return true;
    }
}
