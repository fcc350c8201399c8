using System.Numerics.Tensors;
using EmbedSharp.Initializers;

namespace EmbedSharp.Graphs.Models;

/// <summary>
/// DistMult (Yang et al. 2015): <c>f(h, r, t) = Σ hᵢ rᵢ tᵢ</c>. Symmetric in h and t, so the query of either
/// side is <c>q = anchor ∘ r</c> and f = q · candidate. Weights start as normal(0, InitScale), 1e-3 by default
/// (Lacroix et al. 2018).
/// </summary>
public sealed class DistMult : KgModel
{
    internal DistMult(int numEntities, int numRelations, KgModelOptions options)
        : base("distmult", numEntities, numRelations, options.Dims, options.Dims, options, ScoreKind.Dot, 0)
    {
    }

    private protected override Initializer EntityInitializer() => Initializer.Normal(0, Options.InitScale ?? 1e-3f);

    private protected override Initializer RelationInitializer() => Initializer.Normal(0, Options.InitScale ?? 1e-3f);

    internal override void Query(ReadOnlySpan<float> anchor, ReadOnlySpan<float> relation, bool headSide, Span<float> q) =>
        TensorPrimitives.Multiply(anchor, relation, q);

    internal override void QueryBackward(ReadOnlySpan<float> anchor, ReadOnlySpan<float> relation, bool headSide, ReadOnlySpan<float> gq, Span<float> gAnchor, Span<float> gRelation)
    {
        TensorPrimitives.MultiplyAdd(gq, relation, gAnchor, gAnchor);
        TensorPrimitives.MultiplyAdd(gq, anchor, gRelation, gRelation);
    }
}
