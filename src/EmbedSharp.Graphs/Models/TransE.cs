using System.Numerics.Tensors;
using EmbedSharp.Initializers;

namespace EmbedSharp.Graphs.Models;

/// <summary>
/// TransE (Bordes et al. 2013): <c>f(h, r, t) = γ − ‖h + r − t‖</c> in the L1 or L2 norm
/// (<see cref="KgModelOptions.Norm"/>). Tail query <c>q = h + r</c>, head query <c>q = t − r</c>, f = γ − ‖q − candidate‖.
/// Weights start as uniform(±InitScale), 6/√Dims by default (the paper's initialisation).
/// </summary>
public sealed class TransE : KgModel
{
    internal TransE(int numEntities, int numRelations, KgModelOptions options)
        : base("transe", numEntities, numRelations, options.Dims, options.Dims, Checked(options), options.Norm == 1 ? ScoreKind.L1 : ScoreKind.L2, options.Gamma ?? 0)
    {
    }

    private static KgModelOptions Checked(KgModelOptions options)
    {
        if (options.Norm is not (1 or 2))
            throw new ArgumentOutOfRangeException(nameof(options), options.Norm, $"[kg.create_model] TransE norm {options.Norm}; valid values are 1, 2");
        return options;
    }

    private float Bound => Options.InitScale ?? 6f / MathF.Sqrt(Options.Dims);

    private protected override Initializer EntityInitializer() => Initializer.Uniform(-Bound, Bound);

    private protected override Initializer RelationInitializer() => Initializer.Uniform(-Bound, Bound);

    internal override void Query(ReadOnlySpan<float> anchor, ReadOnlySpan<float> relation, bool headSide, Span<float> q)
    {
        if (headSide)
            TensorPrimitives.Subtract(anchor, relation, q);
        else
            TensorPrimitives.Add(anchor, relation, q);
    }

    internal override void QueryBackward(ReadOnlySpan<float> anchor, ReadOnlySpan<float> relation, bool headSide, ReadOnlySpan<float> gq, Span<float> gAnchor, Span<float> gRelation)
    {
        TensorPrimitives.Add(gAnchor, gq, gAnchor);
        if (headSide)
            TensorPrimitives.Subtract(gRelation, gq, gRelation);
        else
            TensorPrimitives.Add(gRelation, gq, gRelation);
    }
}
