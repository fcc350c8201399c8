namespace EmbedSharp.Orleans.Hosting;

/// <summary>What <see cref="SiloBuilderExtensions.UseEmbedSharpShards"/> configures on a silo.</summary>
/// <remarks>
/// The defaults are the ones the design study measured on a 2-silo loopback cluster: with the distributed
/// grain directory, a 1 s probe timeout, 2 missed probes and a 5 s range lease, every shard of a silo killed
/// with SIGKILL answered again on a survivor after about 2.5 s (13–23 s with Orleans' defaults).
/// </remarks>
public sealed class ShardSiloOptions
{
    /// <summary>
    /// The shared folder where shards write their snapshots and load them on activation (a path on the silo's
    /// machine; every silo of the cluster must see the same folder). Null: snapshots are refused and a shard
    /// re-placed after a crash starts from its initial rows.
    /// </summary>
    public string? SnapshotRoot { get; set; }

    /// <summary>
    /// How long the distributed grain directory keeps the grains of a crashed silo unplaceable
    /// (<c>GrainDirectoryOptions.RangeLeaseDuration</c>; Orleans' default is 30 s). Shorter means faster
    /// recovery, at the price of a weaker single-activation guarantee during a network partition: a shard may
    /// briefly exist twice, which for a parameter server is a lesser evil than half a minute without it.
    /// </summary>
    public TimeSpan RangeLeaseDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Membership probe timeout (Orleans' default is 5 s).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Missed probes before a silo is suspected (Orleans' default is 3).</summary>
    public int NumMissedProbesLimit { get; set; } = 2;

    /// <summary>
    /// Votes needed to declare a silo dead (Orleans' default is 2; 1 lets the last survivor of a 2-silo
    /// cluster evict the other).
    /// </summary>
    public int NumVotesForDeathDeclaration { get; set; } = 1;

    /// <summary>
    /// How long a shard's activation waits for its snapshot to load before it gives up (Orleans' activation
    /// timeout; raise it for shards of many GB).
    /// </summary>
    public TimeSpan ActivationTimeout { get; set; } = TimeSpan.FromSeconds(60);
}
