using EmbedSharp.Initializers;

namespace EmbedSharp.Graphs.Models;

/// <summary>
/// ComplEx (Trouillon et al. 2016): <c>f(h, r, t) = Re(Σ hₖ rₖ conj(tₖ))</c> with complex coordinates, rows
/// stored as [re | im] (entity and relation rows are <c>2 · Dims</c> floats). Tail query
/// <c>q = h ∘ r</c>, head query <c>q = conj(r ∘ conj(t))</c>, and f = q · candidate as real vectors, so 1-N
/// scoring is one GEMM. Weights start as normal(0, InitScale), 1e-3 by default (Lacroix et al. 2018).
/// </summary>
public sealed class ComplEx : KgModel
{
    internal ComplEx(int numEntities, int numRelations, KgModelOptions options)
        : base("complex", numEntities, numRelations, 2 * options.Dims, 2 * options.Dims, options, ScoreKind.Dot, 0)
    {
    }

    /// <inheritdoc/>
    public override bool IsComplex => true;

    private protected override Initializer EntityInitializer() => Initializer.Normal(0, Options.InitScale ?? 1e-3f);

    private protected override Initializer RelationInitializer() => Initializer.Normal(0, Options.InitScale ?? 1e-3f);

    internal override void Query(ReadOnlySpan<float> a, ReadOnlySpan<float> r, bool headSide, Span<float> q)
    {
        int d = a.Length / 2;
        for (int k = 0; k < d; k++)
        {
            float ar = a[k], ai = a[d + k], rr = r[k], ri = r[d + k];
            if (headSide)
            {
                q[k] = rr * ar + ri * ai;
                q[d + k] = rr * ai - ri * ar;
            }
            else
            {
                q[k] = ar * rr - ai * ri;
                q[d + k] = ar * ri + ai * rr;
            }
        }
    }

    internal override void QueryBackward(ReadOnlySpan<float> a, ReadOnlySpan<float> r, bool headSide, ReadOnlySpan<float> gq, Span<float> gA, Span<float> gR)
    {
        int d = a.Length / 2;
        for (int k = 0; k < d; k++)
        {
            float ar = a[k], ai = a[d + k], rr = r[k], ri = r[d + k], gr = gq[k], gi = gq[d + k];
            if (headSide)
            {
                gA[k] += gr * rr - gi * ri;
                gA[d + k] += gr * ri + gi * rr;
                gR[k] += gr * ar + gi * ai;
                gR[d + k] += gr * ai - gi * ar;
            }
            else
            {
                gA[k] += gr * rr + gi * ri;
                gA[d + k] += -gr * ri + gi * rr;
                gR[k] += gr * ar + gi * ai;
                gR[d + k] += -gr * ai + gi * ar;
            }
        }
    }
}
