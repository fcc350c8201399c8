using System.Globalization;
using System.Numerics;
using EmbedSharp.Diagnostics;
using EmbedSharp.Stores;
using StackExchange.Redis;

namespace EmbedSharp.Redis;

/// <summary>
/// One published version of a table in Redis: its key names, row format and block count. The pointer key
/// <c>emb:&lt;table&gt;:current</c> holds the current version's layout as one string, so flipping it is one atomic SET.
/// </summary>
/// <remarks>
/// Keys of version <c>v</c>: one hash per block, <c>emb:&lt;table&gt;:v&lt;v&gt;:{b&lt;block&gt;}</c>, field = the id in
/// decimal, value = the row bytes (<see cref="RedisRowFormat"/>). Only <c>{b&lt;block&gt;}</c> is in braces: Redis
/// Cluster hashes the first brace pair of a key, so a block lives in one slot (one HMGET reads many rows of it)
/// and blocks spread over the masters. Block <c>k</c> holds the contiguous range of the 4,096 virtual buckets
/// <c>[k·4096/Blocks, (k+1)·4096/Blocks)</c> (the buckets of the core router, so a snapshot chunk of a bucket
/// range lands in few blocks), and the same ids land in the same blocks for every version.
/// </remarks>
public sealed record RedisTableLayout
{
    /// <summary>Virtual buckets ids are mixed into (<see cref="BucketRouter.BucketCount"/>); <see cref="Blocks"/> divides it.</summary>
    public const int Buckets = BucketRouter.BucketCount;

    private const string Op = "redis.layout";

    /// <summary>Creates a layout after checking every field.</summary>
    /// <exception cref="ArgumentException">The table name is not 1–64 of <c>[A-Za-z0-9_.-]</c>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range, or <paramref name="blocks"/> is not a power of two in 1..4096.</exception>
    public RedisTableLayout(string table, long version, RedisRowFormat format, int dims, int blocks, long rows, long? numEmbeddings = null)
    {
        CheckTableName(Op, table);
        Guard.Positive(Op, version);
        if (!Enum.IsDefined(format))
            ThrowHelper.ArgumentOutOfRange(Op, nameof(format), format, $"format {format} is not one of float32, float16, int8");
        if (dims < 1 || dims > 65536)
            ThrowHelper.ArgumentOutOfRange(Op, nameof(dims), dims, $"dims {dims} is out of range; valid values are 1..65536");
        if (blocks < 1 || blocks > Buckets || !BitOperations.IsPow2(blocks))
            ThrowHelper.ArgumentOutOfRange(Op, nameof(blocks), blocks, $"blocks {blocks} is not a power of two in 1..{Buckets}");
        Guard.NonNegative(Op, rows);
        if (numEmbeddings is { } n)
            Guard.NonNegative(Op, n, nameof(numEmbeddings));
        NumEmbeddings = numEmbeddings;
        Table = table;
        Version = version;
        Format = format;
        Dims = dims;
        Blocks = blocks;
        Rows = rows;
    }

    /// <summary>The table's name (part of every key).</summary>
    public string Table { get; }

    /// <summary>The version number (1, 2, ...; allocated by INCR on <c>emb:&lt;table&gt;:versions</c>).</summary>
    public long Version { get; }

    /// <summary>How each row is stored.</summary>
    public RedisRowFormat Format { get; }

    /// <summary>Length of each row.</summary>
    public int Dims { get; }

    /// <summary>Hashes per version (a power of two dividing 4,096).</summary>
    public int Blocks { get; }

    /// <summary>Rows written to this version.</summary>
    public long Rows { get; }

    /// <summary>
    /// Valid ids are <c>[0, NumEmbeddings)</c> when the table was published from a bounded table; null when any int64
    /// id may be present (hashed or dynamic ids).
    /// </summary>
    public long? NumEmbeddings { get; }

    /// <summary>Bytes of one stored row.</summary>
    public int RowBytes => RowCodec.RowBytes(Format, Dims);

    /// <summary>The key of the pointer to the current version of <paramref name="table"/>.</summary>
    public static RedisKey PointerKey(string table) => $"emb:{table}:current";

    /// <summary>The counter that allocates version numbers of <paramref name="table"/>.</summary>
    public static RedisKey VersionCounterKey(string table) => $"emb:{table}:versions";

    /// <summary>The hash that holds block <paramref name="block"/> of this version.</summary>
    public RedisKey BlockKey(int block) => $"emb:{Table}:v{Version.ToString(CultureInfo.InvariantCulture)}:{{b{block.ToString(CultureInfo.InvariantCulture)}}}";

    /// <summary>The block an id lives in: its bucket's range, <c>bucket · Blocks / 4096</c>.</summary>
    public int BlockOf(long id) => BucketOf(id) >> (12 - BitOperations.Log2((uint)Blocks));

    /// <summary>One of 4,096 virtual buckets: core's <see cref="BucketRouter.BucketOf"/>, the function every store and snapshot shares.</summary>
    public static int BucketOf(long id) => BucketRouter.BucketOf(id);

    /// <summary>The pointer value: <c>version=3 format=int8 dims=32 blocks=256 rows=10000 numEmbeddings=10000</c> (the last only when bounded).</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"version={Version} format={FormatName(Format)} dims={Dims} blocks={Blocks} rows={Rows}{(NumEmbeddings is { } n ? $" numEmbeddings={n}" : "")}");

    /// <summary>Reads a pointer value written by <see cref="ToString"/>; anything else is a clear error, never a guess.</summary>
    /// <exception cref="FormatException">The value is not a layout this library writes.</exception>
    public static RedisTableLayout Parse(string table, string value)
    {
        const string op = "redis.layout";
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string part in value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0 || !fields.TryAdd(part[..eq], part[(eq + 1)..]))
                throw Bad($"'{part}' is not a single name=value pair");
        }
        string Field(string name) => fields.TryGetValue(name, out var v) ? v : throw Bad($"it has no {name}=");
        long Number(string name, long max)
        {
            string text = Field(name);
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n > max)
                throw Bad($"{name}={text} is not a number in 0..{max}");
            return n;
        }
        RedisRowFormat format = Field("format") switch
        {
            "float32" => RedisRowFormat.Float32,
            "float16" => RedisRowFormat.Float16,
            "int8" => RedisRowFormat.Int8,
            var f => throw Bad($"format={f} is not one of float32, float16, int8"),
        };
        try
        {
            return new RedisTableLayout(table, Number("version", long.MaxValue), format, (int)Number("dims", 65536),
                (int)Number("blocks", Buckets), Number("rows", long.MaxValue), fields.ContainsKey("numEmbeddings") ? Number("numEmbeddings", long.MaxValue) : null);
        }
        catch (ArgumentException e)
        {
            throw Bad(e.Message);
        }

        FormatException Bad(string what) => new(ThrowHelper.Format(op,
            $"the pointer {PointerKey(table)} holds '{value}', which is not a table layout ({what}); republish the table with RedisTableWriter"));
    }

    internal static string FormatName(RedisRowFormat format) => format switch
    {
        RedisRowFormat.Float32 => "float32",
        RedisRowFormat.Float16 => "float16",
        _ => "int8",
    };

    internal static void CheckTableName(string op, string table)
    {
        Guard.NotNull(op, table);
        bool ok = table.Length is > 0 and <= 64;
        foreach (char c in table)
            ok &= char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.';
        if (!ok)
            ThrowHelper.Argument(op, nameof(table), $"table name '{table}' is not 1–64 characters of A–Z, a–z, 0–9, '_', '-', '.' (it is part of every key, and braces would change the hash slot)");
    }
}
