using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace EmbedSharp.Orleans.Placement;

/// <summary>
/// Placement of row shards: shard <c>k</c> of a table goes to silo <c>k mod n</c> of the <c>n</c> compatible
/// silos sorted by address, so the shards of a table spread evenly and every silo makes the same choice.
/// </summary>
/// <remarks>
/// Orleans' default (resource-optimized since 9.2) is not deterministic and may stack shards on one silo.
/// When a silo dies, a shard of it is placed again by the same rule over the survivors.
/// </remarks>
[GenerateSerializer, Immutable]
public sealed class ShardPlacementStrategy : PlacementStrategy
{
    internal static readonly ShardPlacementStrategy Instance = new();
}

/// <summary>Places a grain class's activations with <see cref="ShardPlacementStrategy"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ShardPlacementAttribute : PlacementAttribute
{
    /// <summary>Creates the attribute.</summary>
    public ShardPlacementAttribute() : base(ShardPlacementStrategy.Instance)
    {
    }
}

/// <summary>The director behind <see cref="ShardPlacementStrategy"/>: reads the shard index from the grain's key.</summary>
internal sealed class ShardPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        SiloAddress[] silos = context.GetCompatibleSilos(target);
        if (silos.Length == 0)
            throw new OrleansException($"[orleans.placement] no silo can host {target.GrainIdentity}; start a silo with UseEmbedSharpShards()");
        int shard = ShardKey.TryParse(target.GrainIdentity.Key.ToString(), out ShardKey key) ? key.Shard : 0;
        return Task.FromResult(Choose(silos, shard));
    }

    /// <summary>Silo <c>shard mod n</c> of <paramref name="silos"/> in address order.</summary>
    internal static SiloAddress Choose(SiloAddress[] silos, int shard)
    {
        var sorted = (SiloAddress[])silos.Clone();
        Array.Sort(sorted, static (a, b) => a.CompareTo(b));
        return sorted[shard % sorted.Length];
    }
}
