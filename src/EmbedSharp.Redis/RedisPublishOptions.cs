using System.Numerics;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Redis;

/// <summary>Options of <see cref="RedisTableWriter"/>: how the new version is laid out and written.</summary>
public sealed record RedisPublishOptions
{
    /// <summary>How rows are stored; float32 by default.</summary>
    public RedisRowFormat Format { get; init; } = RedisRowFormat.Float32;

    /// <summary>
    /// Hashes per version, a power of two dividing 4,096 (default 256). More blocks spread rows more evenly over the
    /// masters; fewer mean fewer, larger HMGETs per batch (a 4,096-id batch touches about min(4096, Blocks) blocks).
    /// </summary>
    public int Blocks { get; init; } = 256;

    /// <summary>How long the replaced version stays readable after the flip (default 60 s), so batches that read the old pointer finish; zero deletes it at once.</summary>
    public TimeSpan OldVersionTtl { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Rows per HSET command (default 256).</summary>
    public int RowsPerCommand { get; init; } = 256;

    /// <summary>HSET commands in flight before the writer waits for replies (default 64).</summary>
    public int MaxInFlight { get; init; } = 64;

    /// <summary>Bound on waiting for a group of writes (default 30 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    internal void Validate(string op)
    {
        if (!Enum.IsDefined(Format))
            ThrowHelper.ArgumentOutOfRange(op, nameof(Format), Format, "Format must be Float32, Float16 or Int8");
        if (Blocks < 1 || Blocks > RedisTableLayout.Buckets || !BitOperations.IsPow2(Blocks))
            ThrowHelper.ArgumentOutOfRange(op, nameof(Blocks), Blocks, $"Blocks {Blocks} is not a power of two in 1..{RedisTableLayout.Buckets}");
        if (OldVersionTtl < TimeSpan.Zero)
            ThrowHelper.ArgumentOutOfRange(op, nameof(OldVersionTtl), OldVersionTtl, "OldVersionTtl must be zero or positive");
        Guard.Positive(op, RowsPerCommand);
        Guard.Positive(op, MaxInFlight);
        if (Timeout <= TimeSpan.Zero)
            ThrowHelper.ArgumentOutOfRange(op, nameof(Timeout), Timeout, "Timeout must be positive");
    }
}
