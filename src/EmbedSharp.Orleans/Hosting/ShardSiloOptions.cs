namespace EmbedSharp.Orleans.Hosting;

/// <summary>What <see cref="SiloBuilderExtensions.UseEmbedSharpShards"/> configures on a silo.</summary>
/// <remarks>
/// <para>The defaults are the ones the design study measured on a 2-silo loopback cluster: with the distributed
/// grain directory, a 1 s probe timeout, 2 missed probes and a 5 s range lease, every shard of a silo killed
/// with SIGKILL answered again on a survivor after about 2.5 s (13–23 s with Orleans' defaults).</para>
/// <para>What the recovery is made of (Orleans 10.4; the kill test prints it from the survivor's log):
/// (1) failure detection: Orleans probes every <c>MinProbeTimeout</c> = half of <see cref="ProbeTimeout"/> (its
/// adaptive probe timeout stays at that floor on a fast network), and a killed process refuses the connection at
/// once, so <see cref="NumMissedProbesLimit"/> failed probes take 0.5–1 s; (2) with
/// <see cref="NumVotesForDeathDeclaration"/> = 1 the survivor evicts the dead silo in the membership table
/// right away; (3) the distributed directory takes over the dead silo's ranges: its grain lease runs from the
/// estimated failure time, the declaration minus the detection window (<c>MaxProbeTimeout</c> = 4 ×
/// <see cref="ProbeTimeout"/>, times the missed-probe limit: 8 s), so a 5 s <see cref="RangeLeaseDuration"/> adds
/// no wait (Orleans' 30 s default would add 22 s); (4) the next call of a lost shard places it on a survivor and
/// loads its snapshot (proportional to the shard's size). The client side adds the time a request lost with the
/// killed silo takes to fail: <see cref="OrleansStoreOptions.TryTimeout"/> abandons it early.</para>
/// <para>Against false deaths under load, the settings keep Orleans' guards: the probe timeout adapts to observed
/// round trips (up to 4 s) and is extended further when the silo itself is degraded (thread-pool delays), and a
/// silo whose connection still delivers messages is not voted dead. A 1 s probe timeout with 2 missed probes
/// saw no false eviction in the kill test and the benchmark at load averages of 30–50 on 2 cores.</para>
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
